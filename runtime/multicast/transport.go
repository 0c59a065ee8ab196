package multicast

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// A Transport carries a Plexus's messages over IP multicast. Create it with
// [New] and hand it to [plexo.Plexus.Attach].
type Transport struct {
	cfg   config
	lay   layout
	ifi   *net.Interface
	start time.Time
	keys  *frame.Keys // nil: no authentication

	ctrl    *net.UDPConn
	ctrlBuf int
	sender  *net.UDPConn

	// reasmBudget bounds the bytes of partial messages over all the
	// sockets' reassemblers: forged fragments on every joined group
	// together pin no more than on one.
	reasmBudget *frame.Budget

	mu       sync.Mutex // node, host, lifecycle, sockets, interest
	node     *agree.Node
	host     plexo.Host
	log      *slog.Logger
	self     uint64
	started  bool
	closed   bool
	socks    map[uint32]*groupSock
	interest map[agree.TopicID]*localTopic
	leaves   []leave
	notify   []agree.Event // interest changes for the Host, delivered by the loop
	// joinFailed is set when a subscribed topic may hold no socket: a
	// join failed, and the loop tries again.
	joinFailed bool

	subsMu sync.RWMutex
	subs   map[agree.TopicID]string // subscribed topics: id -> name

	pubMu  sync.RWMutex
	pubs   map[string]*pubTopic
	pubIDs map[agree.TopicID]*pubTopic

	sendMu    sync.Mutex // writer, buffers, sequences, sender socket
	writer    *frame.Writer
	prefixBuf []byte
	ctrlBody  []byte
	ctrlSeq   uint64
	nakBody   []byte
	resendBuf [][]byte

	seqMu   sync.Mutex
	seqs    map[seqKey]*seqState // DATA sequences seen per (sender, topic), at most seqCap
	naking  map[seqKey]*seqState // those with messages missing, while NAKs are due
	seqHead *seqState            // most recently heard
	seqTail *seqState            // least recently heard: evicted first
	seqCap  int
	sweepAt time.Time // next sweep of the sequence states, guarded by mu

	// dropHook, set by tests before Start, makes the data readers drop
	// the datagrams for which it returns true, as a lossy network would.
	dropHook func(topic, seq uint64, index uint16) bool
	// joinHook, set by tests before Start, makes joining a group fail
	// while it returns an error, as running out of file descriptors would.
	joinHook func() error

	// wake makes the loop run now. wakeAt (guarded by mu) is when it runs
	// next at the latest: whatever makes a node timer, a group leave or a
	// NAK retry due earlier wakes it (wakeBy, kick), so that these keep
	// their timing instead of waiting for the poll.
	wake   chan struct{}
	wakeAt time.Time
	poll   time.Duration // the loop's longest sleep, a safety net
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	st counters
}

type groupSock struct {
	conn    *net.UDPConn
	refs    int
	granted int
}

type localTopic struct {
	name string
	pub  bool
	hops int // what the Plexus advertises: > 0 subscribes, that far away
	// joined tells whether the topic holds a reference to the socket of
	// group, the group that carried it when it was joined: unsubscribing
	// or moving releases that one. A subscribed topic whose join failed
	// holds none, or an older group's; the loop tries again.
	joined bool
	group  uint32
}

type pubTopic struct {
	id     agree.TopicID
	prefix []byte       // DATA prefix: the length-prefixed name
	seq    uint64       // guarded by sendMu
	ring   *repair.Ring // recent messages for NAK repair, guarded by sendMu; nil: repair off
	group  atomic.Uint32
	// During make-before-break, the old group also gets every message
	// until oldUntil (unix ns).
	old      atomic.Uint32
	oldUntil atomic.Int64
}

type leave struct {
	group uint32
	at    time.Time
}

// source is the Source of messages this transport delivers: the sending
// node, reached through t.
type source struct {
	t    *Transport
	node uint64
}

// New opens a multicast transport: it joins the control group and opens
// the sending socket. ctx bounds the setup only.
func New(ctx context.Context, opts ...Option) (*Transport, error) {
	cfg := newConfig(opts)
	lay, err := newLayout(&cfg)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:         cfg,
		lay:         lay,
		start:       time.Now(),
		socks:       make(map[uint32]*groupSock),
		interest:    make(map[agree.TopicID]*localTopic),
		subs:        make(map[agree.TopicID]string),
		pubs:        make(map[string]*pubTopic),
		pubIDs:      make(map[agree.TopicID]*pubTopic),
		seqs:        make(map[seqKey]*seqState),
		naking:      make(map[seqKey]*seqState),
		seqCap:      MaxSenderStates,
		reasmBudget: frame.NewBudget(reassemblyBytes(cfg.maxMessage)),
		wake:        make(chan struct{}, 1),
		poll:        100 * time.Millisecond,
		quit:        make(chan struct{}),
	}
	if cfg.iface != "" {
		ifi, err := net.InterfaceByName(cfg.iface)
		if err != nil {
			return nil, errorf("multicast: new: %w %q: %w", ErrInterface, cfg.iface, err)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, errorf("multicast: new: %w: %s", ErrInterface, multicastOff(ifi))
		}
		t.ifi = ifi
	}
	if cfg.keys != nil {
		t.keys = frame.NewKeys(cfg.keys, cfg.sendKey)
	}
	ctrl, granted, err := listenGroup(ctx, &t.cfg, t.ifi, t.cfg.control, cfg.controlPort)
	if err != nil {
		return nil, fmt.Errorf("multicast: new control group: %w", err)
	}
	t.ctrl, t.ctrlBuf = ctrl, granted
	t.sender, err = dialSender(ctx, &t.cfg, t.ifi)
	if err != nil {
		ctrl.Close()
		return nil, fmt.Errorf("multicast: new sender: %w", err)
	}
	return t, nil
}

// Unfiltered implements [plexo.UnfilteredTransport]: the Plexus hands a
// multicast transport every message, since receivers' kernels filter by
// group.
func (t *Transport) Unfiltered() bool { return true }

// Start implements [plexo.Transport].
func (t *Transport) Start(h plexo.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return fmt.Errorf("multicast: start: %w", plexo.ErrClosed)
	case t.started:
		return fmt.Errorf("multicast: start: %w", plexo.ErrAttached)
	}
	t.started, t.host, t.log, t.self = true, h, h.Logger(), h.ID()
	if t.self == 0 {
		t.self = 1
	}
	t.node = agree.New(agree.Config{
		Self:         t.self,
		Size:         t.lay.size,
		Control:      t.lay.control,
		Heartbeat:    t.cfg.heartbeat,
		RoundTimeout: t.cfg.roundTimeout,
		Expiry:       t.cfg.expiry,
		Seed:         uint64(time.Now().UnixNano()),
	})
	t.writer = frame.NewWriter(t.cfg.domain, t.self, t.cfg.mtu, t.keys)
	t.wg.Add(2)
	go t.readControl()
	go t.loop()
	return nil
}

func (t *Transport) now() time.Duration { return time.Since(t.start) }

// Advertise implements [plexo.Transport]: the groups of topics wanted through
// this Plexus (hops > 0, whether by its own handlers or beyond a bridge) are
// joined, and HELLOs tell peers the distance.
func (t *Transport) Advertise(topic string, hops int) {
	if hops < 0 || hops > plexo.MaxHops {
		hops = 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || !t.started {
		return
	}
	id := agree.IDOf(topic)
	lt := t.interest[id]
	if lt == nil {
		if hops == 0 {
			return
		}
		lt = &localTopic{name: topic}
		t.interest[id] = lt
	}
	if lt.hops == hops {
		return
	}
	wanted := hops > 0
	was := lt.hops > 0
	lt.hops = hops
	if was != wanted {
		t.subsMu.Lock()
		if wanted {
			t.subs[id] = topic
		} else {
			delete(t.subs, id)
		}
		t.subsMu.Unlock()
		if wanted {
			t.follow(id, lt)
		} else if lt.joined {
			lt.joined = false
			t.release(lt.group)
		}
	}
	t.updateNode(id, lt)
	t.afterNode()
}

// follow makes a subscribed topic hold the socket of the group now carrying
// it, make before break: the group it held is left once the new one is
// joined, after a grace period; t.mu held. A failure to join (such as too
// many open files) is logged, the topic keeps what it held, and the loop
// tries again every heartbeat.
func (t *Transport) follow(id agree.TopicID, lt *localTopic) {
	g := t.node.Group(id)
	if lt.joined && lt.group == g {
		return
	}
	if err := t.join(g); err != nil {
		t.joinFailed = true
		t.log.Warn("multicast: join", "topic", lt.name, "group", t.lay.addr(g), "error", err)
		return
	}
	if lt.joined {
		l := leave{group: lt.group, at: time.Now().Add(t.moveGrace())}
		t.leaves = append(t.leaves, l)
		t.wakeBy(l.at)
	}
	lt.joined, lt.group = true, g
}

// moveGrace is how long a relocated topic's old group stays in use, make
// before break: subscribers keep it joined and publishers send on it too,
// for the same time, so that nothing is lost while peers move.
func (t *Transport) moveGrace() time.Duration { return 2 * t.heartbeat() }

// retryJoins follows the subscribed topics for which a join failed; t.mu
// held.
func (t *Transport) retryJoins() {
	if !t.joinFailed {
		return
	}
	t.joinFailed = false
	for id, lt := range t.interest {
		if lt.hops > 0 {
			t.follow(id, lt)
		}
	}
}

// updateNode tells the node about a topic's local interest; t.mu held.
func (t *Transport) updateNode(id agree.TopicID, lt *localTopic) {
	on := lt.pub || lt.hops > 0
	t.node.SetInterest(t.now(), agree.Topic{ID: id, Name: lt.name, Hops: uint8(lt.hops)}, on)
	if !on {
		delete(t.interest, id)
	}
}

// join opens (or shares) the socket of group g; t.mu held.
func (t *Transport) join(g uint32) error {
	if s := t.socks[g]; s != nil {
		s.refs++
		return nil
	}
	if t.joinHook != nil {
		if err := t.joinHook(); err != nil {
			return err
		}
	}
	conn, granted, err := listenGroup(context.Background(), &t.cfg, t.ifi, t.lay.addr(g), t.cfg.dataPort)
	if err != nil {
		return err
	}
	t.socks[g] = &groupSock{conn: conn, refs: 1, granted: granted}
	t.wg.Add(1)
	go t.readData(conn)
	return nil
}

// release drops a reference to group g's socket; t.mu held.
func (t *Transport) release(g uint32) {
	s := t.socks[g]
	if s == nil {
		return
	}
	if s.refs--; s.refs <= 0 {
		delete(t.socks, g)
		s.conn.Close()
	}
}

// afterNode sends what the node queued and applies its events; t.mu held.
func (t *Transport) afterNode() {
	for _, ev := range t.node.Events() {
		switch ev.Kind {
		case agree.EventGroup:
			t.relocated(ev)
		case agree.EventInterest:
			t.notify = append(t.notify, ev)
			t.kick()
		}
	}
	// A message or a change of interest may have brought a node timer
	// forward: a HELLO announcing the change, a snapshot answer, a
	// Paxos round's deadline or a retry after backoff.
	t.wakeBy(t.start.Add(t.node.NextTick()))
	out := t.node.Outbox()
	if len(out) == 0 {
		return
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	for i := range out {
		t.sendControl(&out[i])
	}
}

// kick makes the loop run now.
func (t *Transport) kick() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// wakeBy makes the loop run by at; t.mu held.
func (t *Transport) wakeBy(at time.Time) {
	if at.Before(t.wakeAt) {
		t.wakeAt = at
		t.kick()
	}
}

// relocated moves a topic of local interest to its new group, make before
// break: subscribers join the new group and keep the old one for two
// heartbeats; publishers send on both meanwhile.
func (t *Transport) relocated(ev agree.Event) {
	t.st.relocations.Add(1)
	lt := t.interest[ev.Topic]
	if lt == nil {
		return
	}
	grace := t.moveGrace()
	if lt.hops > 0 {
		t.follow(ev.Topic, lt)
	}
	t.pubMu.RLock()
	p := t.pubs[lt.name]
	t.pubMu.RUnlock()
	if p != nil {
		p.old.Store(ev.Old)
		p.oldUntil.Store(time.Now().Add(grace).UnixNano())
		p.group.Store(ev.Group)
	}
	t.log.Debug("multicast: topic relocated", "topic", lt.name, "from", t.lay.addr(ev.Old), "to", t.lay.addr(ev.Group))
}

func (t *Transport) expiry() time.Duration {
	if t.cfg.expiry > 0 {
		return t.cfg.expiry
	}
	return agree.DefaultExpiry
}

func (t *Transport) heartbeat() time.Duration {
	if t.cfg.heartbeat > 0 {
		return t.cfg.heartbeat
	}
	return agree.DefaultHeartbeat
}

// sendControl multicasts one control message; t.sendMu held.
func (t *Transport) sendControl(m *agree.Msg) {
	t.ctrlBody = frame.AppendControl(t.ctrlBody[:0], time.Now().UnixNano(), m)
	sent, _ := t.sendOnControlGroup(frame.ControlBase+uint8(m.Kind), 0, t.ctrlBody)
	t.st.controlSent.Add(uint64(sent))
}

// sendOnControlGroup frames body as the next control sequence number and
// multicasts the frames on the control group, stopping at the first error;
// t.sendMu held. It reports how many frames went out and whether all did.
func (t *Transport) sendOnControlGroup(kind uint8, topic uint64, body []byte) (sent int, ok bool) {
	t.ctrlSeq++
	frames, err := t.writer.Frames(kind, topic, t.ctrlSeq, nil, body)
	if err != nil {
		return 0, false
	}
	dst := netip.AddrPortFrom(t.cfg.control, t.cfg.controlPort)
	for _, f := range frames {
		if _, err := t.sender.WriteToUDPAddrPort(f, dst); err != nil {
			t.st.sendErrors.Add(1)
			return sent, false
		}
		sent++
	}
	return sent, true
}

// Send implements [plexo.Transport]: the message goes out on its topic's
// group at once, whoever listens.
func (t *Transport) Send(_ context.Context, msg *plexo.Message) error {
	if s, ok := msg.Source.(source); ok && s.t == t {
		return nil // multicast peers got it already
	}
	if len(msg.Topic) > 0xffff || len(msg.Payload)+len(msg.Topic)+18 > t.cfg.maxMessage {
		return fmt.Errorf("multicast: send %s: %d bytes: %w", msg.Topic, len(msg.Payload), plexo.ErrMessageTooLarge)
	}
	t.pubMu.RLock()
	p := t.pubs[msg.Topic]
	t.pubMu.RUnlock()
	if p == nil {
		var err error
		if p, err = t.publish(msg.Topic); err != nil {
			return err
		}
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	b := append(t.prefixBuf[:0], p.prefix...)
	b = binary.LittleEndian.AppendUint64(b, msg.Origin)
	b = binary.LittleEndian.AppendUint64(b, msg.Sequence)
	t.prefixBuf = b
	// The sequence number is taken only once the message is framed: one
	// skipped would be counted lost, and asked for, by every receiver.
	frames, err := t.writer.Frames(frame.KindData, uint64(p.id), p.seq+1, b, msg.Payload)
	if err != nil {
		return fmt.Errorf("multicast: send %s: %w", msg.Topic, plexo.ErrMessageTooLarge)
	}
	p.seq++
	if p.ring != nil {
		p.ring.Put(p.seq, frames)
	}
	if err := t.write(frames, p.group.Load()); err != nil {
		return fmt.Errorf("multicast: send %s: %w", msg.Topic, err)
	}
	if until := p.oldUntil.Load(); until != 0 {
		if time.Now().UnixNano() < until {
			_ = t.write(frames, p.old.Load())
		} else {
			// Only the grace period read above ends: a relocation may
			// have started a new one meanwhile.
			p.oldUntil.CompareAndSwap(until, 0)
		}
	}
	t.st.sent.Add(1)
	return nil
}

func (t *Transport) write(frames [][]byte, g uint32) error {
	dst := netip.AddrPortFrom(t.lay.addr(g), t.cfg.dataPort)
	for _, f := range frames {
		if _, err := t.sender.WriteToUDPAddrPort(f, dst); err != nil {
			t.st.sendErrors.Add(1)
			return err
		}
		t.st.datagramsSent.Add(1)
	}
	return nil
}

// publish registers a topic this node publishes, the first time it sends.
func (t *Transport) publish(topic string) (*pubTopic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("multicast: send %s: %w", topic, plexo.ErrClosed)
	}
	if !t.started {
		return nil, fmt.Errorf("multicast: send %s: transport not attached", topic)
	}
	t.pubMu.Lock()
	defer t.pubMu.Unlock()
	if p := t.pubs[topic]; p != nil {
		return p, nil
	}
	id := agree.IDOf(topic)
	p := &pubTopic{id: id, prefix: frame.AppendDataPrefix(nil, topic)}
	if t.cfg.repair > 0 {
		p.ring = repair.NewRing(t.cfg.repair, RepairMaxMessage)
	}
	p.group.Store(t.node.Group(id))
	t.pubs[topic] = p
	t.pubIDs[id] = p
	lt := t.interest[id]
	if lt == nil {
		lt = &localTopic{name: topic}
		t.interest[id] = lt
	}
	lt.pub = true
	t.pubMu.Unlock()
	t.updateNode(id, lt)
	t.afterNode()
	t.pubMu.Lock()
	return p, nil
}

// loop ticks the node, leaves groups after their grace period, and tells
// the Host about peers' interest.
func (t *Transport) loop() {
	defer t.wg.Done()
	// Nothing is due for a sweep or a retried join before a heartbeat has
	// passed; sweeping at once would also make a join that just failed
	// succeed or fail by the timing of the loop's first run.
	t.mu.Lock()
	t.sweepAt = time.Now().Add(t.heartbeat())
	t.mu.Unlock()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-timer.C:
		case <-t.wake:
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return
		}
		now := t.now()
		if now >= t.node.NextTick() {
			t.node.Tick(now)
			t.afterNode()
		}
		wall := time.Now()
		if !wall.Before(t.sweepAt) {
			hb := t.heartbeat()
			t.sweepAt = wall.Add(hb)
			t.sweepSeqs(wall, max(3*hb, minDepartGrace), t.expiry(), t.node.Knows)
			t.retryJoins()
		}
		next := t.node.NextTick() - t.now()
		kept := t.leaves[:0]
		for _, l := range t.leaves {
			if wall.After(l.at) {
				t.release(l.group)
				continue
			}
			kept = append(kept, l)
			next = min(next, l.at.Sub(wall))
		}
		t.leaves = kept
		next = max(min(next, t.poll), time.Millisecond)
		t.wakeAt = wall.Add(next)
		notify := t.notify
		t.notify = nil
		host := t.host
		t.mu.Unlock()
		for _, ev := range notify {
			host.SetInterest(ev.Name, ev.Hops)
		}
		if t.retryNaks(wall) {
			next = max(min(next, nakRetry), time.Millisecond)
		}
		timer.Reset(next)
	}
}

// Close implements [plexo.Transport]: it leaves every group and waits for
// the transport's goroutines.
func (t *Transport) Close() error {
	first := false
	t.once.Do(func() {
		first = true
		t.mu.Lock()
		t.closed = true
		for g, s := range t.socks {
			s.conn.Close()
			delete(t.socks, g)
		}
		t.mu.Unlock()
		close(t.quit)
		t.ctrl.Close()
		t.wg.Wait()
		t.sender.Close()
	})
	if !first {
		t.wg.Wait()
	}
	return nil
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
