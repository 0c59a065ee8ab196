package plexo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo/internal/interest"
)

// A Plexus is the hub a program holds: it delivers published messages to the
// handlers in the same process and, through every attached [Transport], to
// the processes whose handlers want them, and it bridges its transports.
//
// A Plexus works with no transport at all. It is safe for concurrent use.
// Close it to stop every subscription and transport it owns.
type Plexus struct {
	id     uint64
	cfg    plexusConfig
	log    *slog.Logger
	dedup  *dedup
	seq    atomic.Uint64
	closed atomic.Bool

	// life is cancelled by Close; it bounds deliveries from transports to
	// subscriptions that block.
	life   context.Context
	cancel context.CancelFunc

	// routes maps topic names to their *route. Delivery looks a topic up
	// without a lock; routes are added under mu, each in constant time
	// however many there are (a peer may report thousands of topics).
	routes sync.Map

	closeOnce sync.Once
	closeErr  error

	// mu serialises interest bookkeeping, the sets of subscriptions and
	// links, and Close.
	mu         sync.Mutex
	links      []*link
	subs       map[*Subscription]struct{}
	interestCh chan struct{} // closed and replaced when any interest changes

	// Routes that nobody needs any more, oldest first (see reclaim.go);
	// guarded by mu.
	idleQueue []idleRoute
	idleCount int
	idleSeq   uint64

	// sharing announces p's topics and descriptors to the directory (see
	// directory.go); nil when WithDescriptorSharing(false).
	sharing *announcer
	// watchers are the Directory values following p's directory. watchMu
	// comes after mu in the lock order.
	watchMu  sync.Mutex
	watchers map[*Directory]struct{}

	decodeErrorLog rateLimit

	duplicates        atomic.Uint64
	unrouted          atomic.Uint64
	transportErrors   atomic.Uint64
	directoryRejected atomic.Uint64
}

// New returns a Plexus ready for in-process publish/subscribe. Attach
// transports to reach other processes.
func New(opts ...PlexusOption) *Plexus {
	cfg := newPlexusConfig(opts)
	life, cancel := context.WithCancel(context.Background())
	p := &Plexus{
		id:         randomID(),
		cfg:        cfg,
		log:        cfg.logger,
		dedup:      newDedup(cfg.dedupOrigins),
		life:       life,
		cancel:     cancel,
		subs:       make(map[*Subscription]struct{}),
		interestCh: make(chan struct{}),
		watchers:   make(map[*Directory]struct{}),
	}
	if cfg.shareDescriptors {
		p.sharing = newAnnouncer(p)
	}
	return p
}

// ID returns the Plexus's random 64-bit identity, the origin of the messages
// it publishes.
func (p *Plexus) ID() uint64 { return p.id }

// Attach adds a transport: from now on, p sends it the messages its peers
// want, delivers what it receives, and bridges it with the other transports.
// A transport can be attached at any time, to one Plexus only, and is closed
// by [Plexus.Close]. Attaching to a closed Plexus fails with [ErrClosed] and
// closes t, as Close would have, whether p was closed before the call or
// while t was starting.
func (p *Plexus) Attach(t Transport) error {
	if t == nil {
		return opError("attach", "", errors.New("nil transport"))
	}
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return errors.Join(opError("attach", "", ErrClosed), t.Close())
	}
	if slices.ContainsFunc(p.links, func(l *link) bool { return l.t == t }) {
		p.mu.Unlock()
		return opError("attach", "", ErrAttached)
	}
	p.mu.Unlock()

	l := &link{p: p, t: t}
	if u, ok := t.(UnfilteredTransport); ok {
		l.unfiltered = u.Unfiltered()
	}
	// Start runs outside p.mu: the transport may report interest at once.
	if err := t.Start(l); err != nil {
		return opError("attach", "", err)
	}

	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return errors.Join(opError("attach", "", ErrClosed), t.Close())
	}
	p.links = append(slices.Clip(p.links), l)
	p.eachRoute(p.updateInterest)
	if p.sharing != nil {
		p.sharing.start() // only transports carry the directory beyond p
	}
	p.mu.Unlock()
	return nil
}

// Close closes every subscription and attached transport, waits for their
// goroutines, and makes later operations fail with [ErrClosed]. Messages
// still queued for handlers are dropped. Close is safe to call more than
// once and concurrently: later and concurrent calls wait for the first to
// finish and return its result. A handler may call it; an inline handler
// ([WithInline]) running on a transport's goroutine must not, as Close
// waits for that goroutine.
func (p *Plexus) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Plexus) close() error {
	p.mu.Lock()
	p.closed.Store(true)
	subs := make([]*Subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	clear(p.subs)
	p.eachRoute(func(r *route) {
		r.localSubs = 0
		r.subs.Store(new([]*Subscription))
		r.rawSubs.Store(new([]*Subscription))
		if d := r.binding.Load(); d != nil {
			d.forget(p)
		}
	})
	links := p.links
	close(p.interestCh)
	p.mu.Unlock()

	p.cancel()
	for _, s := range subs {
		s.stop()
	}
	p.watchMu.Lock()
	watchers := slices.Collect(maps.Keys(p.watchers))
	p.watchMu.Unlock()
	for _, d := range watchers {
		_ = d.Close()
	}
	if p.sharing != nil {
		p.sharing.stop() // says goodbye through the transports still open
	}
	var errs []error
	for _, l := range links {
		if err := l.t.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WaitForInterest blocks until a peer reached through an attached transport
// wants the topic, so that a message published now can reach it. Publishing
// never waits by itself: use this where a first message must not be lost,
// as in demos and tests. [Topic.WaitForInterest] does the same for a typed
// topic and lists p as its publisher in the directory meanwhile.
func (p *Plexus) WaitForInterest(ctx context.Context, topic string) error {
	for {
		p.mu.Lock()
		closed := p.closed.Load()
		ch := p.interestCh
		r := p.lookup(topic)
		wanted := r != nil && r.interestedLinks() > 0
		p.mu.Unlock()
		switch {
		case wanted:
			return nil
		case closed:
			return opError("wait for interest", topic, ErrClosed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return opError("wait for interest", topic, ctx.Err())
		}
	}
}

// publish is Topic.Publish without the type parameter.
func (p *Plexus) publish(ctx context.Context, d *topicDesc, msg proto.Message) error {
	if msg == nil || !d.valid(msg) {
		return opError("publish", d.name, ErrNilMessage)
	}
	if p.closed.Load() {
		return opError("publish", d.name, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return opError("publish", d.name, err)
	}
	r, err := p.bind(d)
	if err != nil {
		return err
	}
	p.countPublished(r)
	if len(*r.links.Load()) > 0 || len(*r.rawSubs.Load()) > 0 {
		return p.publishEncoded(ctx, d, r, msg)
	}
	return offer(ctx, d, r, msg)
}

// countPublished counts a message that p publishes on r's topic and, the
// first time, records for the directory that p publishes the topic.
func (p *Plexus) countPublished(r *route) {
	r.published.Add(1)
	p.notePublishing(r)
}

// notePublishing records for the directory that p publishes r's topic.
func (p *Plexus) notePublishing(r *route) {
	if !r.publishing.Load() && r.publishing.CompareAndSwap(false, true) {
		p.directoryChanged()
	}
}

// publishEncoded publishes msg to local subscribers and, encoded once into a
// pooled buffer, to the transports that want it. It encodes first, so that
// a message the codec rejects is delivered nowhere.
func (p *Plexus) publishEncoded(ctx context.Context, d *topicDesc, r *route, msg proto.Message) error {
	out := getOutbound()
	defer putOutbound(out)
	var err error
	out.buf, err = d.codec.Marshal(out.buf[:0], msg)
	if err != nil {
		return opError("publish", d.name, err)
	}
	out.msg = Message{Topic: d.name, Payload: out.buf, Origin: p.id, Sequence: p.seq.Add(1)}
	if err := offer(ctx, d, r, msg); err != nil {
		return err
	}
	if err := offerRaw(ctx, r, &out.msg); err != nil {
		return err
	}
	p.send(ctx, r, &out.msg, nil)
	return nil
}

// offer queues msg for every local subscription of r.
func offer(ctx context.Context, d *topicDesc, r *route, msg proto.Message) error {
	for _, s := range *r.subs.Load() {
		if err := s.offer(ctx, msg); err != nil {
			return opError("publish", d.name, err)
		}
	}
	return nil
}

// send hands an encoded message to every transport that wants its topic,
// except the unfiltered one it arrived from (from, nil for a message
// published here): that one's peers all had it already.
func (p *Plexus) send(ctx context.Context, r *route, msg *Message, from *link) {
	for _, l := range *r.links.Load() {
		if l == from && l.unfiltered {
			continue
		}
		if err := l.t.Send(ctx, msg); err != nil {
			p.transportErrors.Add(1)
			p.log.Debug("plexo: transport send failed", "topic", msg.Topic, "error", err)
			continue
		}
		r.forwarded.Add(1)
	}
}

// deliver handles a message that arrived through link from. It reports
// whether it handed the message to a goroutine that it woke (see
// [BatchHost]).
func (p *Plexus) deliver(from *link, msg *Message) (woke bool) {
	if p.closed.Load() {
		return false
	}
	if msg.Origin == p.id || !p.dedup.admit(msg.Origin, msg.Sequence) {
		p.duplicates.Add(1)
		return false
	}
	var decoded [1]any
	return p.deliverRun(from, unsafe.Slice(msg, 1), 1, decoded[:0])
}

// maxDeliverBatch is how many messages of a batch deliverBatch handles
// together: one lock of the duplicate filter, and one queueing per
// subscription and run of a topic's messages.
const maxDeliverBatch = 64

// deliverBatch handles messages that arrived together through link from,
// as deliver does each of them in order. It reports whether it handed any
// to a goroutine that it woke (see [BatchHost]).
func (p *Plexus) deliverBatch(from *link, msgs []Message) (woke bool) {
	if len(msgs) == 1 {
		return p.deliver(from, &msgs[0])
	}
	var decoded [maxDeliverBatch]any
	for len(msgs) > 0 {
		if p.closed.Load() {
			return woke
		}
		chunk := msgs[:min(len(msgs), maxDeliverBatch)]
		msgs = msgs[len(chunk):]
		admitted := p.dedup.admitBatch(chunk, p.id)
		if dups := len(chunk) - bits.OnesCount64(admitted); dups > 0 {
			p.duplicates.Add(uint64(dups))
		}
		// Hand over each run of one topic's messages at once.
		for i := 0; i < len(chunk); {
			j := i + 1
			for j < len(chunk) && chunk[j].Topic == chunk[i].Topic {
				j++
			}
			if run := admitted >> i & (1<<(j-i) - 1); run != 0 {
				woke = p.deliverRun(from, chunk[i:j], run, decoded[:0]) || woke
			}
			i = j
		}
		clear(decoded[:]) // let the messages go once handed over
	}
	return woke
}

// deliverRun handles a run of messages of one topic that arrived through
// link from, those of msgs whose bit is set in admitted (bit i for
// msgs[i]): it decodes each once for the typed subscriptions, queues them
// for each subscription together, then offers each to the raw
// subscriptions and forwards it. decoded is an empty slice with room for
// msgs, to decode into. It reports whether it woke a subscription's
// goroutine, or offered the messages to a raw subscription with one.
func (p *Plexus) deliverRun(from *link, msgs []Message, admitted uint64, decoded []any) (woke bool) {
	n := bits.OnesCount64(admitted)
	r := from.route(msgs[0].Topic)
	if r == nil {
		p.unrouted.Add(uint64(n))
		return false
	}
	r.received.Add(uint64(n))
	if subs := *r.subs.Load(); len(subs) > 0 {
		if d := r.binding.Load(); d != nil {
			for i := range msgs {
				if admitted&(1<<i) == 0 {
					continue
				}
				v := d.newMessage()
				if err := d.codec.Unmarshal(msgs[i].Payload, v); err != nil {
					p.decodeFailed(r, &msgs[i], err)
					continue
				}
				decoded = append(decoded, v)
			}
			if len(decoded) > 0 {
				for _, s := range subs {
					w, _ := s.offerBatch(p.life, decoded)
					woke = woke || w
				}
			}
		}
	}
	for _, s := range *r.rawSubs.Load() {
		woke = woke || !s.inline
	}
	for i := range msgs {
		if admitted&(1<<i) == 0 {
			continue
		}
		msg := &msgs[i]
		_ = offerRaw(p.life, r, msg)
		if r.tap != nil {
			r.tap(msg)
		}
		p.send(p.life, r, msg, from)
	}
	return woke
}

// decodeFailed counts and logs a message that arrived for r's topic and that
// its codec could not decode. The log is a warning, as a peer publishing
// with another schema is a mistake worth seeing, but rate-limited, as one
// such peer sends many.
func (p *Plexus) decodeFailed(r *route, msg *Message, err error) {
	r.decodeErrors.Add(1)
	if suppressed, ok := p.decodeErrorLog.allow(); ok {
		p.log.Warn("plexo: dropped a message that does not decode as its topic's type",
			"topic", msg.Topic, "origin", originString(msg.Origin), "codec", r.codecName(),
			"error", err, "suppressed", suppressed)
	}
}

// subscribe is Topic.Subscribe without the type parameter.
func (p *Plexus) subscribe(ctx context.Context, d *topicDesc, handle func(context.Context, any), opts []SubscribeOption) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("subscribe", d.name, err)
	}
	if _, err := p.bind(d); err != nil {
		return nil, err
	}
	return p.addSubscription(d.name, false, handle, opts)
}

// addSubscription starts a typed or raw subscription of a topic.
func (p *Plexus) addSubscription(topic string, raw bool, handle func(context.Context, any), opts []SubscribeOption) (*Subscription, error) {
	cfg := p.cfg.sub
	for _, o := range opts {
		if o != nil {
			o.applyToSubscription(&cfg)
		}
	}
	r := p.lockRoute(topic)
	defer p.mu.Unlock()
	defer p.noteIdle(r)
	if p.closed.Load() {
		return nil, opError("subscribe", topic, ErrClosed)
	}
	s := newSubscription(p, r, cfg, handle)
	s.raw = raw
	p.subs[s] = struct{}{}
	r.localSubs++
	list := s.list()
	list.Store(ptr(append(slices.Clip(*list.Load()), s)))
	p.updateInterest(r)
	if r.localSubs == 1 {
		p.directoryChanged()
	}
	s.start()
	return s, nil
}

// unsubscribe removes s from p; it reports false if p or s closed already.
func (p *Plexus) unsubscribe(s *Subscription) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.subs[s]; !ok {
		return false
	}
	delete(p.subs, s)
	r := s.route
	r.localSubs--
	list := s.list()
	list.Store(ptr(slices.DeleteFunc(slices.Clone(*list.Load()), func(x *Subscription) bool { return x == s })))
	p.updateInterest(r)
	if r.localSubs == 0 {
		p.directoryChanged()
	}
	p.noteIdle(r)
	return true
}

// lookup returns the route of a topic name, or nil.
func (p *Plexus) lookup(name string) *route {
	if r, ok := p.routes.Load(name); ok {
		return r.(*route)
	}
	return nil
}

// eachRoute calls f with every route.
func (p *Plexus) eachRoute(f func(*route)) {
	p.routes.Range(func(_, r any) bool {
		f(r.(*route))
		return true
	})
}

// routeFor returns the route of a topic name, creating it.
//
// The route may be reclaimed as soon as it is returned, unless a Go type is
// bound to it: callers that change it use lockRoute.
func (p *Plexus) routeFor(name string) *route {
	if r := p.lookup(name); r != nil {
		return r
	}
	r := p.lockRoute(name)
	p.noteIdle(r)
	p.mu.Unlock()
	return r
}

// lockRoute locks p.mu and returns the route of a topic name, creating it.
// Routes are reclaimed only under p.mu, so the route stays p's until the
// caller unlocks.
func (p *Plexus) lockRoute(name string) *route {
	// p.mu orders creation with Attach: a new route starts with the
	// unfiltered links attached so far, and a later Attach finds it.
	p.mu.Lock()
	if r := p.lookup(name); r != nil {
		return r
	}
	r := newRoute(name)
	p.updateInterest(r)
	p.routes.Store(name, r)
	return r
}

// bind returns the route of d's name, binding it to d's Go type on first
// use and rejecting any other type later.
func (p *Plexus) bind(d *topicDesc) (*route, error) {
	if c := d.cache.Load(); c != nil && c.p == p {
		return c.r, nil
	}
	r := p.lookup(d.name)
	b := (*topicDesc)(nil)
	if r != nil {
		b = r.binding.Load()
	}
	if b == nil { // bound under p.mu, so that the route is not reclaimed meanwhile
		r = p.lockRoute(d.name)
		r.binding.CompareAndSwap(nil, d)
		b = r.binding.Load()
		p.noteIdle(r)
		p.mu.Unlock()
	}
	if b != d && b.goType != d.goType {
		return nil, &TopicTypeError{Topic: d.name, Bound: b.goType, Used: d.goType}
	}
	d.cache.Store(&routeRef{p: p, r: r})
	return r, nil
}

// updateInterest recomputes, after a change, which links r's messages go to
// and what p advertises to each link for r's topic. p.mu must be held.
//
// Messages go to the links whose peers want the topic, and to unfiltered
// links. Interest is a distance vector: p tells a link that the nearest
// subscriber through p is 1 hop away when a local handler wants the topic,
// and otherwise one more than the nearest reported by its other links (never
// the link's own report: split horizon), as internal/interest computes it
// from r's per-distance counts. Where bridges form a cycle, a withdrawn
// subscriber's distance keeps growing around it until it passes [MaxHops]
// and is dropped, so interest cannot outlive its subscribers. The
// forwarding set is stored before anything is advertised, so that a message
// sent in answer to the advertisement finds its way on.
func (p *Plexus) updateInterest(r *route) {
	var send []*link
	for _, l := range p.links {
		if l.unfiltered || r.hops[l] > 0 {
			send = append(send, l)
		}
	}
	r.links.Store(&send)

	local := 0
	if r.localSubs > 0 || r.tap != nil {
		local = 1
	}
	z := r.interest.Horizon()
	for _, l := range p.links {
		hops := z.Advertise(local, r.hops[l])
		if hops != r.advertised[l] {
			if r.advertised == nil {
				r.advertised = make(map[*link]int)
			}
			r.advertised[l] = hops
			l.t.Advertise(r.name, hops)
		}
	}
	if !p.closed.Load() {
		close(p.interestCh)
		p.interestCh = make(chan struct{})
	}
}

// setInterest records how many hops away from p the nearest subscriber of a
// topic reached through l is; 0 means none.
func (p *Plexus) setInterest(l *link, topic string, hops int) {
	hops = interest.Clamp(hops)
	if hops == 0 && p.lookup(topic) == nil {
		return // withdrawn interest in a topic p never heard of
	}
	r := p.lockRoute(topic)
	defer p.mu.Unlock()
	defer p.noteIdle(r)
	if p.closed.Load() || r.hops[l] == hops {
		return
	}
	if r.hops == nil {
		r.hops = make(map[*link]int)
	}
	wanted := len(r.hops) > 0
	r.interest.Move(r.hops[l], hops)
	if hops == 0 {
		delete(r.hops, l)
	} else {
		r.hops[l] = hops
	}
	p.updateInterest(r)
	if !wanted && len(r.hops) > 0 && p.sharing != nil {
		p.sharing.interestAppeared(r.name)
	}
}

func ptr[T any](v T) *T { return &v }

func randomID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}
