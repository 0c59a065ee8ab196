package plexo

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/plexo-go/plexo/internal/interest"
)

// A route is everything a Plexus knows about one topic name: the Go type it
// is bound to, its local subscriptions, which links want it, and counters.
// The hot paths read subs and links as immutable snapshots without locking.
type route struct {
	name    string
	binding atomic.Pointer[topicDesc]
	subs    atomic.Pointer[[]*Subscription] // typed subscriptions
	rawSubs atomic.Pointer[[]*Subscription] // raw subscriptions (SubscribeRaw)
	links   atomic.Pointer[[]*link]

	// described is the message type that DescribeTopic gave a topic that is
	// used without a Go type, for the directory.
	described atomic.Pointer[describedType]
	// publishing is set at the first publish in this process, or by
	// Topic.WaitForInterest, which declares one to come: the
	// directory lists the Plexus as a publisher of the topic from then on.
	publishing atomic.Bool
	// tap, when set, sees every message that arrives for the topic: the
	// Plexus's own handling of plexo's reserved topics.
	tap func(*Message)
	// reclaimed is set, under Plexus.mu, when the Plexus forgets the
	// route (see reclaim.go): a link's cached route is then stale.
	reclaimed atomic.Bool

	// Guarded by Plexus.mu.
	localSubs  int             // typed and raw subscriptions
	idleStamp  uint64          // nonzero while the route waits in the Plexus's idle queue
	hops       map[*link]int   // distance to the nearest subscriber reached through the link, if any
	interest   interest.Counts // the values of hops, counted per distance
	advertised map[*link]int   // the distance the link was last told, 0 for none
	retired    subscriptionCounters

	published    atomic.Uint64
	received     atomic.Uint64
	forwarded    atomic.Uint64
	decodeErrors atomic.Uint64
}

func newRoute(name string) *route {
	r := &route{name: name}
	r.subs.Store(new([]*Subscription))
	r.rawSubs.Store(new([]*Subscription))
	r.links.Store(new([]*link))
	return r
}

// codecName returns the name of the codec the topic's messages are encoded
// with: its Go type's, once bound, else the one its name selects.
func (r *route) codecName() string {
	if d := r.binding.Load(); d != nil {
		return d.codec.Name()
	}
	return codecForTopic(r.name).Name()
}

// interestedLinks counts the links whose peers want the topic. The caller
// holds Plexus.mu.
func (r *route) interestedLinks() int {
	return len(r.hops)
}

// A link is one attached transport as the Plexus sees it; it is the Host
// (a [BatchHost]) that the transport reports to.
type link struct {
	p          *Plexus
	t          Transport
	unfiltered bool

	// last is the route of the topic whose message arrived last through
	// the link, so that a stream of one topic's messages skips the lookup
	// in Plexus.routes (which hashes the name).
	last atomic.Pointer[route]
}

func (l *link) Deliver(msg *Message)               { _ = l.p.deliver(l, msg) }
func (l *link) DeliverBatch(msgs []Message) bool   { return l.p.deliverBatch(l, msgs) }
func (l *link) SetInterest(topic string, hops int) { l.p.setInterest(l, topic, hops) }
func (l *link) Logger() *slog.Logger               { return l.p.log }
func (l *link) ID() uint64                         { return l.p.id }

// route returns the route of a topic name, or nil, as Plexus.lookup does:
// from the link's cache when the topic is the last one's and its route was
// not reclaimed meanwhile. A route reclaimed just after this check is
// handled as one reclaimed just after a lookup.
func (l *link) route(name string) *route {
	if r := l.last.Load(); r != nil && r.name == name && !r.reclaimed.Load() {
		return r
	}
	r := l.p.lookup(name)
	if r != nil {
		l.last.Store(r)
	}
	return r
}

// outbound is a reusable encode buffer with the message that points into it,
// so that the steady-state publish path does not allocate.
type outbound struct {
	msg Message
	buf []byte
}

// maxPooledBuffer bounds the buffers kept for reuse, so that one huge message
// does not pin its buffer for the life of the process.
const maxPooledBuffer = 64 << 10

var outboundPool = sync.Pool{New: func() any { return &outbound{buf: make([]byte, 0, 512)} }}

func getOutbound() *outbound { return outboundPool.Get().(*outbound) }

func putOutbound(o *outbound) {
	if cap(o.buf) > maxPooledBuffer {
		return
	}
	o.msg = Message{}
	outboundPool.Put(o)
}
