package multicast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/interest"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
)

// Lock order. A Transport has five locks; a goroutine holding one takes
// only locks below it in this list, never one above:
//
//	mu       the node, the host, the lifecycle, the group membership, the
//	         local interest, notify, wakeAt and sweepAt
//	subsMu   subs, the subscribed topics (the data readers take it alone)
//	pubs.mu  the publishers' maps
//	seqMu    the sequence states, the peers and the NAKs due
//	sendMu   the writer and its buffers, the control sequence, the sender
//	         socket, and each pubTopic's seq and ring
//
// The node is driven under mu (the loop's ticks, the control reader's
// messages, Advertise, the joiner's installing of sockets), so sending what it queued takes sendMu under mu,
// and sweeping the sequence states takes subsMu then seqMu under mu. A
// receiver checking a sequence number takes seqMu alone and sends any NAK
// after releasing it. No lock is held while messages or interest are
// handed to the Host.

// A Transport carries a Plexus's messages over IP multicast. Create it with
// [New] and hand it to [plexo.Plexus.Attach].
type Transport struct {
	cfg    config
	layout layout
	ifi    *net.Interface
	start  time.Time
	keys   *frame.Keys // nil: no authentication

	ctrl    *net.UDPConn
	ctrlBuf int
	sender  *net.UDPConn

	// reasmBudget bounds the bytes of partial messages over all the
	// sockets' reassemblers: forged fragments on every joined group
	// together pin no more than on one.
	reasmBudget *frame.Budget

	mu       sync.Mutex // node, host, lifecycle, groups, interest; first in the lock order
	node     *agree.Node
	host     plexo.Host
	log      *slog.Logger
	self     uint64
	started  bool
	closed   bool
	groups   groupMembership
	interest map[agree.TopicID]*localTopic
	notify   []agree.Event // interest changes for the Host, delivered by the loop

	subsMu sync.RWMutex
	subs   map[agree.TopicID]string // subscribed topics: id -> name

	pubs publishers

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
	peers   map[uint64]*peer // the Sources of the senders in seqs
	sweepAt time.Time        // next sweep of the sequence states, guarded by mu

	// dropHook, set by tests before Start, makes the data readers drop
	// the datagrams for which it returns true, as a lossy network would.
	dropHook func(topic, seq uint64, index uint16) bool
	// joinHook, set by tests before Start, makes joining a group fail
	// while it returns an error, as running out of file descriptors would;
	// the joiner calls it, without t.mu, before opening a group's socket.
	joinHook func() error

	// wake makes the loop run now. wakeAt (guarded by mu) is when it runs
	// next at the latest: whatever makes a node timer, a group leave or a
	// NAK retry due earlier wakes it (wakeBy, kick), so that these keep
	// their timing instead of waiting for the poll.
	wake chan struct{}
	// joinWake makes the joiner goroutine open the group sockets that
	// subscribed topics wait for (groupMembership.toJoin).
	joinWake chan struct{}
	wakeAt   time.Time
	poll     time.Duration // the loop's longest sleep, a safety net
	quit     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	counters counters
}

// A localTopic is a topic of local interest: one this node publishes, or
// one the Plexus advertises as subscribed.
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

// A peer is the Source of the messages this transport delivers from one
// sending node. It is interned: the transport keeps one per node whose
// sequence numbers it follows (see seqState), so that every message from
// that node carries the same pointer, and boxing it into
// [plexo.Message].Source allocates nothing. A node forgotten and heard
// again gets a new peer.
type peer struct {
	t    *Transport
	node uint64
	refs int // seqStates of this node; guarded by t.seqMu
}

// New opens a multicast transport: it joins the control group and opens
// the sending socket. ctx bounds the setup only.
func New(ctx context.Context, opts ...Option) (*Transport, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, errorf("multicast: new: %w", err)
	}
	addrs, err := newLayout(&cfg)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:         cfg,
		layout:      addrs,
		start:       time.Now(),
		groups:      groupMembership{sockets: make(map[uint32]*groupSock)},
		interest:    make(map[agree.TopicID]*localTopic),
		subs:        make(map[agree.TopicID]string),
		pubs:        publishers{byName: make(map[string]*pubTopic), byID: make(map[agree.TopicID]*pubTopic)},
		seqs:        make(map[seqKey]*seqState),
		naking:      make(map[seqKey]*seqState),
		peers:       make(map[uint64]*peer),
		seqCap:      MaxSenderStates,
		reasmBudget: frame.NewBudget(reassemblyBytes(cfg.maxMessage)),
		wake:        make(chan struct{}, 1),
		joinWake:    make(chan struct{}, 1),
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
		Size:         t.layout.size,
		Control:      t.layout.control,
		Heartbeat:    t.cfg.heartbeat,
		RoundTimeout: t.cfg.roundTimeout,
		Expiry:       t.cfg.expiry,
		Seed:         uint64(time.Now().UnixNano()),
	})
	t.writer = frame.NewWriter(t.cfg.domain, t.self, t.cfg.mtu, t.keys)
	t.wg.Add(3)
	go t.readControl()
	go t.loop()
	go t.joiner()
	return nil
}

func (t *Transport) now() time.Duration { return time.Since(t.start) }

// Advertise implements [plexo.Transport]: the groups of topics wanted through
// this Plexus (hops > 0, whether by its own handlers or beyond a bridge) are
// joined, and HELLOs tell peers the distance. Advertise does not wait for a
// join: the transport's joiner goroutine opens the group's socket (see
// openJoins), and delivery on the topic begins once it has.
func (t *Transport) Advertise(topic string, hops int) {
	hops = interest.Clamp(hops)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || !t.started {
		return
	}
	id := agree.IDOf(topic)
	local := t.interest[id]
	if local == nil {
		if hops == 0 {
			return
		}
		local = &localTopic{name: topic}
		t.interest[id] = local
	}
	if local.hops == hops {
		return
	}
	wanted := hops > 0
	was := local.hops > 0
	local.hops = hops
	if was != wanted {
		t.subsMu.Lock()
		if wanted {
			t.subs[id] = topic
		} else {
			delete(t.subs, id)
		}
		t.subsMu.Unlock()
		if wanted {
			t.follow(id, local)
		} else if local.joined {
			local.joined = false
			t.groups.release(local.group)
		}
	}
	t.updateNode(id, local)
	t.afterNode()
}

// updateNode tells the node about a topic's local interest; t.mu held. A
// subscription is announced to peers only once its group is joined (see
// follow), so that a peer that sees the interest (as with
// [plexo.Plexus.WaitForInterest]) can count on it being received.
func (t *Transport) updateNode(id agree.TopicID, local *localTopic) {
	hops := local.hops
	if !local.joined {
		hops = 0
	}
	t.node.SetInterest(t.now(), agree.Topic{ID: id, Name: local.name, Hops: uint8(hops)}, local.pub || hops > 0)
	if !local.pub && local.hops == 0 {
		delete(t.interest, id)
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
	t.counters.controlSent.Add(uint64(sent))
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
			t.counters.sendErrors.Add(1)
			return sent, false
		}
		sent++
	}
	return sent, true
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
		next := min(t.node.NextTick()-t.now(), t.groups.leaveDue(wall))
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
// the transport's goroutines. Later and concurrent calls wait for the first
// to finish (sync.Once does), then return nil.
func (t *Transport) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.groups.closeAll()
		t.mu.Unlock()
		close(t.quit)
		t.ctrl.Close()
		t.wg.Wait()
		t.sender.Close()
	})
	return nil
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
