// Package pipe connects two [plexo.Plexus] values in one process with an
// in-memory [plexo.Transport] pair, the way [net.Pipe] connects two ends of
// a connection. It behaves like a network transport (interest is exchanged,
// messages travel encoded, delivery is asynchronous and at most once), so
// programs can test their wiring without sockets:
//
//	a, b := pipe.New()
//	_ = p1.Attach(a)
//	_ = p2.Attach(b)
package pipe

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/plexo-go/plexo"
)

// DefaultQueueSize is how many data messages an end holds for its Plexus
// before it drops (and counts) what arrives.
const DefaultQueueSize = 4096

// An Option configures both ends of a pipe.
type Option interface {
	apply(*config)
}

// WithQueueSize sets how many data messages each end queues before it drops
// new ones. The default is [DefaultQueueSize]; values below 1 keep it.
func WithQueueSize(n int) Option { return queueSizeOption(n) }

type config struct{ queueSize int }

type queueSizeOption int

func (o queueSizeOption) apply(c *config) {
	if o >= 1 {
		c.queueSize = int(o)
	}
}

// A Transport is one end of a pipe. Attach each end to a different Plexus.
type Transport struct {
	peer      *Transport
	queueSize int

	mu       sync.Mutex
	host     plexo.Host
	started  bool
	closed   bool
	inbox    []event        // what the peer sent, in order
	queued   int            // data events in inbox
	wake     chan struct{}  // signals inbox has events; capacity 1
	wants    map[string]int // the peer's distance to each topic's nearest subscriber
	done     chan struct{}
	stopOnce sync.Once

	sent, received, dropped atomic.Uint64
}

// event is one thing an end sends its peer: a message, an interest change,
// or the end's close.
type event struct {
	kind  eventKind
	msg   plexo.Message
	topic string
	hops  int
}

type eventKind uint8

const (
	eventData eventKind = iota
	eventInterest
	eventClosed
)

// New returns the two connected ends of a pipe.
func New(opts ...Option) (*Transport, *Transport) {
	cfg := config{queueSize: DefaultQueueSize}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	a, b := newEnd(cfg), newEnd(cfg)
	a.peer, b.peer = b, a
	return a, b
}

func newEnd(cfg config) *Transport {
	return &Transport{
		queueSize: cfg.queueSize,
		wake:      make(chan struct{}, 1),
		wants:     make(map[string]int),
		done:      make(chan struct{}),
	}
}

// Start implements [plexo.Transport].
func (t *Transport) Start(h plexo.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return fmt.Errorf("pipe: start: %w", plexo.ErrClosed)
	case t.started:
		return fmt.Errorf("pipe: start: %w", plexo.ErrAttached)
	}
	t.started = true
	t.host = h
	go t.run()
	return nil
}

// Advertise implements [plexo.Transport].
func (t *Transport) Advertise(topic string, hops int) {
	t.peer.post(event{kind: eventInterest, topic: topic, hops: hops})
}

// Send implements [plexo.Transport]. It copies msg into the peer's queue, or
// drops it when the peer does not want the topic or its queue is full.
func (t *Transport) Send(_ context.Context, msg *plexo.Message) error {
	if msg.Source == t {
		return nil // it came from the peer
	}
	t.mu.Lock()
	closed, wanted := t.closed, t.wants[msg.Topic] > 0
	t.mu.Unlock()
	if closed {
		return fmt.Errorf("pipe: send %s: %w", msg.Topic, plexo.ErrClosed)
	}
	if !wanted {
		return nil
	}
	m := *msg
	m.Payload = append([]byte(nil), msg.Payload...)
	m.Source = nil
	if !t.peer.post(event{kind: eventData, msg: m}) {
		t.dropped.Add(1)
		return fmt.Errorf("pipe: send %s: peer queue full or closed", msg.Topic)
	}
	t.sent.Add(1)
	return nil
}

// Close implements [plexo.Transport]. The peer learns that nothing is wanted
// here any more; what it sends afterwards is dropped.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closed = true
	started := t.started
	t.mu.Unlock()
	t.peer.post(event{kind: eventClosed})
	if started {
		t.signal()
	} else {
		close(t.done)
	}
	<-t.done
	return nil
}

// Stats counts an end's traffic.
type Stats struct {
	Sent     uint64 // messages handed to the peer
	Received uint64 // messages handed to this end's Plexus
	Dropped  uint64 // messages lost to a full or closed peer queue
}

// Stats returns the end's counters.
func (t *Transport) Stats() Stats {
	return Stats{Sent: t.sent.Load(), Received: t.received.Load(), Dropped: t.dropped.Load()}
}

// post queues e for this end; it reports false when data was dropped.
func (t *Transport) post(e event) bool {
	t.mu.Lock()
	if t.closed || (e.kind == eventData && t.queued >= t.queueSize) {
		t.mu.Unlock()
		return false
	}
	t.inbox = append(t.inbox, e)
	if e.kind == eventData {
		t.queued++
	}
	t.mu.Unlock()
	t.signal()
	return true
}

func (t *Transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run hands the peer's events to this end's Plexus, in order.
func (t *Transport) run() {
	defer close(t.done)
	var batch []event
	for range t.wake {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return
		}
		batch, t.inbox = t.inbox, batch[:0]
		t.queued = 0
		h := t.host
		t.mu.Unlock()
		for i := range batch {
			t.handle(h, &batch[i])
			batch[i] = event{}
		}
	}
}

func (t *Transport) handle(h plexo.Host, e *event) {
	switch e.kind {
	case eventData:
		e.msg.Source = t
		t.received.Add(1)
		h.Deliver(&e.msg)
	case eventInterest:
		t.mu.Lock()
		if e.hops > 0 {
			t.wants[e.topic] = e.hops
		} else {
			delete(t.wants, e.topic)
		}
		t.mu.Unlock()
		h.SetInterest(e.topic, e.hops)
	case eventClosed:
		t.mu.Lock()
		topics := t.wants
		t.wants = make(map[string]int)
		t.mu.Unlock()
		for topic := range topics {
			h.SetInterest(topic, 0)
		}
	}
}
