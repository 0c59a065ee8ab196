package plexonats

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// maintenancePeriod is how often, at most, the transport looks for
// slow-consumer drops, expired peers and refreshes due; a shorter interest
// refresh makes it look more often.
const maintenancePeriod = time.Second

// queryBackoff is when, after starting or reconnecting, the transport asks
// the other transports again for their interest: in a cluster, a server
// learns of a new subscription a little after the client made it, so the
// first announcements between new transports may reach nobody.
var queryBackoff = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second, 3 * time.Second}

// A Transport is a [plexo.Transport] over a NATS connection. Create it with
// [New] and attach it to one Plexus; [plexo.Plexus.Close] closes it. It
// never closes the connection.
type Transport struct {
	nc  *nats.Conn
	cfg config

	interestSubject string
	remote          *remoteInterest

	// Test hooks, set by this package's tests before Start.
	// interestPendingLimits, when set, replaces nats.go's default pending
	// limits for the interest exchange's subscription; afterSubscribe, when
	// set, runs between subscribing and watching the subscription's end.
	interestPendingLimits *[2]int
	afterSubscribe        func()

	// subjects caches the subject of each topic name sent, or why it has none.
	subjectsMu sync.RWMutex
	subjects   map[string]subjectEntry

	closed atomic.Bool
	dropMu sync.Mutex // serialises the counting of slow-consumer drops

	mu      sync.Mutex
	host    plexo.Host
	id      uint64
	log     *slog.Logger
	started bool
	closing bool
	ops     []advertiseOp
	syncing bool                     // ops holds a sync request not yet taken by the worker
	subs    map[string]*subscription // by topic; written by the worker only
	ctrl    *subscription            // the interest exchange's; written by the worker only
	// emptySyncs is how many periodic syncs the worker still sends with no
	// subscription left; worker only.
	emptySyncs int
	wake       chan struct{} // capacity 1
	quit       chan struct{}
	done       chan struct{}

	sent, sendErrors, received, plain, echoes, malformed, invalid, dropped atomic.Uint64
}

type subjectEntry struct {
	subject string
	err     error
}

// An advertiseOp is a change of interest for the worker to carry out (the
// distance the Plexus advertises for a topic, 0 for none), or, with sync
// set, a request to announce every subscription.
type advertiseOp struct {
	topic string
	hops  int
	sync  bool
}

// New returns a transport over nc, which the caller keeps configuring and
// owning: the transport never closes it. It fails on a nil or closed
// connection, or an option value NATS would not accept.
func New(nc *nats.Conn, opts ...Option) (*Transport, error) {
	if nc == nil {
		return nil, errorf("plexonats: new: %w", ErrNilConn)
	}
	if nc.IsClosed() {
		return nil, fmt.Errorf("plexonats: new: %w", plexo.ErrClosed)
	}
	cfg := newConfig(opts)
	if err := checkPrefix(cfg.prefix); err != nil {
		return nil, errorf("plexonats: new: subject prefix: %w", err)
	}
	if err := checkQueueGroup(cfg.queueGroup); err != nil {
		return nil, errorf("plexonats: new: %w", err)
	}
	for _, topic := range cfg.remoteInterest {
		if err := checkSubject(cfg.prefix + topic); err != nil {
			return nil, errorf("plexonats: new: remote interest %s: %w", topic, err)
		}
	}
	return &Transport{
		nc:              nc,
		cfg:             cfg,
		interestSubject: interestSubject(cfg.prefix),
		remote:          newRemoteInterest(cfg.prefix),
		subjects:        make(map[string]subjectEntry),
		subs:            make(map[string]*subscription),
		wake:            make(chan struct{}, 1),
		quit:            make(chan struct{}),
		done:            make(chan struct{}),
	}, nil
}

// Unfiltered implements [plexo.UnfilteredTransport]: it reports true, as
// NATS routes each message only to the subscriptions that want it.
func (t *Transport) Unfiltered() bool { return true }

// Start implements [plexo.Transport]. It reports the topics of
// [WithRemoteInterest] as wanted one hop away and starts the goroutine that
// subscribes and exchanges interest.
func (t *Transport) Start(h plexo.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closing:
		return fmt.Errorf("plexonats: start: %w", plexo.ErrClosed)
	case t.started:
		return fmt.Errorf("plexonats: start: %w", plexo.ErrAttached)
	}
	t.started = true
	t.host = h
	t.id = h.ID()
	t.log = h.Logger()
	// Report the declared interest without holding t.mu: the Plexus may
	// call Advertise meanwhile.
	t.mu.Unlock()
	t.remote.start(h, t.cfg.remoteInterest)
	t.mu.Lock()
	go t.run()
	return nil
}

// Advertise implements [plexo.Transport]: from its own goroutine, in order,
// the transport subscribes to the topic's subject while hops is above 0, or
// unsubscribes, and tells the other plexonats transports the distance.
func (t *Transport) Advertise(topic string, hops int) {
	if hops < 0 || hops > plexo.MaxHops {
		hops = 0
	}
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return
	}
	t.ops = append(t.ops, advertiseOp{topic: topic, hops: hops})
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Send implements [plexo.Transport]: it publishes msg on its topic's subject
// with the plexo headers. The payload is published as is.
func (t *Transport) Send(_ context.Context, msg *plexo.Message) error {
	if msg.Source == t {
		return nil // it came from NATS
	}
	if t.closed.Load() {
		return fmt.Errorf("plexonats: send %s: %w", msg.Topic, plexo.ErrClosed)
	}
	subject, err := t.subject(msg.Topic)
	if err != nil {
		t.invalid.Add(1)
		return errorf("plexonats: send %s: %w", msg.Topic, err)
	}
	o := getOutMsg(subject, msg.Origin, msg.Sequence, msg.Payload)
	err = t.nc.PublishMsg(&o.m)
	putOutMsg(o)
	if err != nil {
		t.sendErrors.Add(1)
		if errors.Is(err, nats.ErrMaxPayload) {
			return fmt.Errorf("plexonats: send %s: %w: %w", msg.Topic, plexo.ErrMessageTooLarge, err)
		}
		return fmt.Errorf("plexonats: send %s: %w", msg.Topic, err)
	}
	t.sent.Add(1)
	return nil
}

// Close implements [plexo.Transport]: it unsubscribes, tells the other
// plexonats transports it is gone, and waits for its goroutines and for the
// handlers of its subscriptions to return. The connection stays open.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closing = true
	started := t.started
	t.mu.Unlock()
	t.closed.Store(true)
	if !started {
		close(t.done)
		return nil
	}
	close(t.quit)
	<-t.done
	return nil
}

// subject returns the subject of a topic, or why it has none, and logs an
// invalid topic the first time it sees it.
func (t *Transport) subject(topic string) (string, error) {
	t.subjectsMu.RLock()
	e, ok := t.subjects[topic]
	t.subjectsMu.RUnlock()
	if ok {
		return e.subject, e.err
	}
	e.subject = t.cfg.prefix + topic
	if e.err = checkSubject(e.subject); e.err != nil {
		e.subject = ""
		t.logger().Warn("plexonats: topic does not make a valid NATS subject", "topic", topic, "error", e.err)
	}
	t.subjectsMu.Lock()
	if len(t.subjects) < 1<<16 { // bound what bogus names can pin
		t.subjects[topic] = e
	}
	t.subjectsMu.Unlock()
	return e.subject, e.err
}

func (t *Transport) logger() *slog.Logger {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log == nil {
		return slog.Default()
	}
	return t.log
}

// run subscribes and unsubscribes as the Plexus advertises, exchanges
// interest, and watches for drops, until Close.
func (t *Transport) run() {
	defer close(t.done)
	var (
		ctrl    *subscription
		status  chan nats.Status
		queries int // how many of queryBackoff are done
	)
	query := time.NewTimer(0)
	defer query.Stop()
	if t.cfg.exchange {
		status = t.nc.StatusChanged(nats.CONNECTED)
		ctrl = t.subscribeInterest()
		t.mu.Lock()
		t.ctrl = ctrl
		t.mu.Unlock()
	} else {
		query.Stop()
	}
	tick := time.NewTicker(min(maintenancePeriod, t.cfg.refresh/2))
	defer tick.Stop()
	nextSync := time.Now().Add(t.cfg.refresh)
	for {
		select {
		case <-t.wake:
			t.applyOps()
		case <-tick.C:
			nextSync = t.maintain(time.Now(), nextSync)
		case <-query.C:
			t.announce(kindQuery, nil)
			if queries < len(queryBackoff) {
				query.Reset(queryBackoff[queries])
				queries++
			}
		case <-status:
			// Reconnected: what was announced meanwhile may be lost, a
			// remove included, so sync even with no subscription left.
			t.announce(kindSync, t.subscribedEntries())
			queries = 0
			query.Reset(0)
		case <-t.quit:
			t.shutdown(ctrl, status)
			return
		}
	}
}

// maintain is the worker's periodic work: it counts the subscriptions'
// slow-consumer drops and, with the interest exchange, forgets the peers'
// interest that expired and sends the periodic sync once nextSync has come.
// It returns when the next sync is due.
func (t *Transport) maintain(now, nextSync time.Time) time.Time {
	t.pollDrops()
	if !t.cfg.exchange {
		return nextSync
	}
	t.remote.expire(now)
	if now.Before(nextSync) {
		return nextSync
	}
	// Peers forget a transport that stops syncing after three intervals;
	// until then, empty syncs tell those that missed its last remove.
	if len(t.subs) > 0 || t.emptySyncs > 0 {
		t.announce(kindSync, t.subscribedEntries())
		if len(t.subs) == 0 {
			t.emptySyncs--
		}
	}
	return now.Add(t.cfg.refresh)
}

func (t *Transport) shutdown(ctrl *subscription, status chan nats.Status) {
	t.mu.Lock()
	t.ops = nil
	t.mu.Unlock()
	hadSubs := len(t.subs) > 0
	for _, s := range t.subs {
		t.unsubscribe(s)
	}
	t.mu.Lock()
	clear(t.subs)
	t.mu.Unlock()
	if ctrl != nil {
		t.mu.Lock()
		t.ctrl = nil
		t.mu.Unlock()
		t.unsubscribe(ctrl)
	}
	if status != nil {
		t.nc.RemoveStatusListener(status)
		if hadSubs {
			t.announce(kindBye, nil)
		}
	}
}

// applyOps carries out the advertisements queued so far, in order.
func (t *Transport) applyOps() {
	for _, op := range t.takeOps() {
		s := t.subs[op.topic]
		switch {
		case op.sync:
			// Answered even with no subscription: the querier may still
			// hold interest from a remove it missed while disconnected.
			t.announce(kindSync, t.subscribedEntries())
		case op.hops > 0 && s == nil:
			subject, err := t.subject(op.topic)
			if err != nil {
				t.invalid.Add(1)
				continue
			}
			s, err = t.subscribe(op.topic, subject, t.cfg.queueGroup)
			if err != nil {
				t.logger().Warn("plexonats: subscribe failed", "subject", subject, "error", err)
				continue
			}
			s.hops = op.hops
			t.mu.Lock()
			t.subs[op.topic] = s
			t.mu.Unlock()
			t.announce(kindAdd, []interestEntry{{subject, op.hops}})
		case op.hops > 0 && s.hops != op.hops:
			s.hops = op.hops
			t.announce(kindAdd, []interestEntry{{s.subject, op.hops}})
		case op.hops == 0 && s != nil:
			t.mu.Lock()
			delete(t.subs, op.topic)
			t.mu.Unlock()
			t.unsubscribe(s)
			t.announce(kindRemove, []interestEntry{{s.subject, 0}})
			if len(t.subs) == 0 {
				t.emptySyncs = 3
			}
		}
	}
}

// takeOps returns the advertisements queued so far, for the worker.
func (t *Transport) takeOps() []advertiseOp {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := t.ops
	t.ops = nil
	t.syncing = false
	return ops
}

// unsubscribe closes a data subscription, counting its last drops.
func (t *Transport) unsubscribe(s *subscription) {
	t.pollDrop(s)
	s.close()
}

// pollDrops counts what NATS dropped for the subscriptions since last time,
// the interest exchange's included: interest messages lost there (a remove
// among them) are as much a slow consumer's loss as data.
func (t *Transport) pollDrops() {
	t.mu.Lock()
	subs := make([]*subscription, 0, len(t.subs)+1)
	for _, s := range t.subs {
		subs = append(subs, s)
	}
	if t.ctrl != nil {
		subs = append(subs, t.ctrl)
	}
	t.mu.Unlock()
	for _, s := range subs {
		t.pollDrop(s)
	}
}

func (t *Transport) pollDrop(s *subscription) {
	t.dropMu.Lock()
	defer t.dropMu.Unlock()
	n, err := s.sub.Dropped()
	if err != nil || n <= s.reported {
		return
	}
	t.dropped.Add(uint64(n - s.reported))
	t.logger().Warn("plexonats: slow consumer: NATS dropped messages", "subject", s.subject, "dropped", n-s.reported, "total", n)
	s.reported = n
}

// subscribedEntries returns the subjects of the data subscriptions with the
// distances the Plexus advertised for them.
func (t *Transport) subscribedEntries() []interestEntry {
	entries := make([]interestEntry, 0, len(t.subs))
	for _, s := range t.subs {
		entries = append(entries, interestEntry{s.subject, s.hops})
	}
	slices.SortFunc(entries, func(a, b interestEntry) int { return strings.Compare(a.subject, b.subject) })
	return entries
}

// announce tells the other plexonats transports about this one's interest.
func (t *Transport) announce(kind string, entries []interestEntry) {
	if !t.cfg.exchange {
		return
	}
	m := newInterestMsg(t.interestSubject, t.id, kind, t.cfg.refresh, entries)
	if err := t.nc.PublishMsg(m); err != nil {
		t.logger().Debug("plexonats: interest announcement failed", "kind", kind, "error", err)
	}
}

// subscribeInterest subscribes to the interest exchange.
func (t *Transport) subscribeInterest() *subscription {
	s := &subscription{t: t, subject: t.interestSubject, done: make(chan struct{})}
	sub, err := t.nc.Subscribe(s.subject, s.onInterest)
	if err != nil {
		t.logger().Warn("plexonats: cannot exchange interest", "subject", s.subject, "error", err)
		return nil
	}
	s.watch(sub)
	if l := t.interestPendingLimits; l != nil {
		_ = sub.SetPendingLimits(l[0], l[1])
	}
	return s
}

// subscribe subscribes to a topic's subject.
func (t *Transport) subscribe(topic, subject, queue string) (*subscription, error) {
	s := &subscription{t: t, topic: topic, subject: subject, origin: randomOrigin(), done: make(chan struct{})}
	sub, err := t.nc.QueueSubscribe(subject, queue, s.onMsg)
	if err != nil {
		return nil, err
	}
	s.watch(sub)
	if err := sub.SetPendingLimits(t.cfg.pendingMessages, t.cfg.pendingBytes); err != nil {
		t.logger().Debug("plexonats: cannot set pending limits", "subject", subject, "error", err)
	}
	return s, nil
}

// A subscription is one NATS subscription of the transport.
type subscription struct {
	t       *Transport
	topic   string
	subject string
	sub     *nats.Subscription
	done    chan struct{} // closed when NATS's goroutine for sub ends
	hops    int           // the distance the Plexus advertised; worker only

	// origin and seq identify the plain messages received (those without
	// plexo headers): each subscription is an origin of its own, numbering
	// them in arrival order.
	origin uint64

	// mu is held while a message is handled, so that close can wait for the
	// handler in flight.
	mu     sync.Mutex
	closed bool
	seq    uint64
	msg    plexo.Message

	reported int // drops counted so far; guarded by Transport.dropMu
}

// watch records sub as s's and arranges for s.done to be closed when
// NATS's goroutine for it ends. nats.go calls the closed handler only if
// it is set when that goroutine ends, which may already have happened if
// the connection was closed meanwhile: then nothing else would close
// s.done, and close, and with it Transport.Close, would wait for ever.
func (s *subscription) watch(sub *nats.Subscription) {
	if s.t.afterSubscribe != nil {
		s.t.afterSubscribe()
	}
	s.sub = sub
	var once sync.Once
	end := func(string) { once.Do(func() { close(s.done) }) }
	sub.SetClosedHandler(end)
	if !sub.IsValid() {
		// Closed already: its goroutine has ended or is ending, and runs
		// no handler any more.
		end("")
	}
}

// close unsubscribes and waits until no handler runs or will run.
func (s *subscription) close() {
	if err := s.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		s.t.logger().Debug("plexonats: unsubscribe failed", "subject", s.subject, "error", err)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	<-s.done
}

// onMsg hands a message that arrived to the Plexus.
func (s *subscription) onMsg(m *nats.Msg) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	origin, seq, ok, err := parseEnvelope(m.Header)
	switch {
	case err != nil:
		t.malformed.Add(1)
		t.log.Debug("plexonats: dropped a message with malformed plexo headers", "subject", m.Subject)
		return
	case !ok:
		s.seq++
		origin, seq = s.origin, s.seq
		t.plain.Add(1)
	case origin == t.id:
		t.echoes.Add(1) // NATS echoes the connection's own publishes
		return
	}
	t.received.Add(1)
	s.msg = plexo.Message{Topic: s.topic, Payload: m.Data, Origin: origin, Sequence: seq, Source: t}
	t.host.Deliver(&s.msg)
	s.msg.Payload = nil
}

// onInterest records what another plexonats transport announced.
func (s *subscription) onInterest(m *nats.Msg) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	im, err := parseInterest(m.Header, m.Data)
	if err != nil {
		t.log.Debug("plexonats: dropped a malformed interest message", "error", err)
		return
	}
	if im.origin == t.id {
		return
	}
	if im.kind == kindQuery {
		t.requestSync()
		return
	}
	t.remote.apply(im, time.Now())
}

// requestSync makes the worker announce all its subscriptions soon. The
// requests that come before the worker gets to them make one sync: a flood
// of queries, forged or from many transports starting at once, neither
// grows the queue nor draws a sync for each.
func (t *Transport) requestSync() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing || t.syncing {
		return
	}
	t.syncing = true
	t.ops = append(t.ops, advertiseOp{sync: true})
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func randomOrigin() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}
