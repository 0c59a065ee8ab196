package plexo

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// A route is everything a Plexus knows about one topic name: the Go type it
// is bound to, its local subscriptions, which links want it, and counters.
// The hot paths read subs and links as immutable snapshots without locking.
type route struct {
	name    string
	binding atomic.Pointer[topicDesc]
	subs    atomic.Pointer[[]*Subscription]
	links   atomic.Pointer[[]*link]

	// Guarded by Plexus.mu.
	localSubs  int
	hops       map[*link]int // distance to the nearest subscriber reached through the link, if any
	advertised map[*link]int // the distance the link was last told, 0 for none
	retired    subscriptionCounters

	published    atomic.Uint64
	received     atomic.Uint64
	forwarded    atomic.Uint64
	decodeErrors atomic.Uint64
}

func newRoute(name string) *route {
	r := &route{name: name}
	r.subs.Store(new([]*Subscription))
	r.links.Store(new([]*link))
	return r
}

// interestedLinks counts the links whose peers want the topic. The caller
// holds Plexus.mu.
func (r *route) interestedLinks() int {
	return len(r.hops)
}

// A link is one attached transport as the Plexus sees it; it is the Host
// that the transport reports to.
type link struct {
	p          *Plexus
	t          Transport
	unfiltered bool
}

func (l *link) Deliver(msg *Message)               { l.p.deliver(l, msg) }
func (l *link) SetInterest(topic string, hops int) { l.p.setInterest(l, topic, hops) }
func (l *link) Logger() *slog.Logger               { return l.p.log }
func (l *link) ID() uint64                         { return l.p.id }

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
