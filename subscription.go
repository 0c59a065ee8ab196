package plexo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Subscription is one handler's registration for a topic in a [Plexus],
// with its own goroutine and bounded queue. It is safe for concurrent use.
type Subscription struct {
	p     *Plexus
	route *route
	// handle calls the user's handler with one queued delivery: a
	// proto.Message for a typed subscription, a *rawDelivery for a raw one.
	handle func(context.Context, any)
	policy Overflow
	queue  chan any
	raw    bool // receives encoded payloads (SubscribeRaw)

	// ctx is what the handler receives; cancel ends it when the
	// subscription closes.
	ctx      context.Context
	cancel   context.CancelFunc
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
	stopping atomic.Bool

	// The handler's goroutine writes the counters for every message; the
	// padding keeps them off the cache line that publishers read.
	_        [64]byte
	counters subscriptionCounters
}

type subscriptionCounters struct {
	delivered atomic.Uint64
	dropped   atomic.Uint64
	panics    atomic.Uint64
}

// SubscriptionStats counts what happened to the messages offered to one
// subscription.
type SubscriptionStats struct {
	Delivered uint64 // handler calls that returned
	Dropped   uint64 // messages lost to the overflow policy or to Close
	Panics    uint64 // handler calls that panicked (recovered and logged)
	Queued    int    // messages waiting for the handler now
}

func newSubscription(p *Plexus, r *route, cfg subscriptionConfig, handle func(context.Context, any)) *Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscription{
		p:      p,
		route:  r,
		handle: handle,
		policy: cfg.overflow,
		queue:  make(chan any, cfg.queueSize),
		ctx:    ctx,
		cancel: cancel,
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// Topic returns the name of the subscribed topic.
func (s *Subscription) Topic() string { return s.route.name }

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	return SubscriptionStats{
		Delivered: s.counters.delivered.Load(),
		Dropped:   s.counters.dropped.Load(),
		Panics:    s.counters.panics.Load(),
		Queued:    len(s.queue),
	}
}

// Close ends the subscription: it withdraws its interest, waits for a
// running handler call to return, and drops (and counts) what is still
// queued. Close is safe to call more than once and after [Plexus.Close].
// Because it waits for the handler, a handler must not close its own
// subscription synchronously; it may do so from a new goroutine.
func (s *Subscription) Close() error {
	if s.p.unsubscribe(s) {
		s.stop()
	} else {
		<-s.done // closed by Plexus.Close, which may still be stopping it
	}
	return nil
}

func (s *Subscription) start() { go s.run() }

// stop ends the goroutine, waits for it, and retires the counters.
func (s *Subscription) stop() {
	s.once.Do(func() {
		s.stopping.Store(true)
		close(s.quit) // releases publishers waiting under OverflowBlock
		s.cancel()
		s.push(nil)
		<-s.done
		for len(s.queue) > 0 {
			if m := <-s.queue; m != nil {
				s.counters.dropped.Add(1)
			}
		}
		s.p.mu.Lock()
		s.route.retired.add(&s.counters)
		s.p.mu.Unlock()
	})
	<-s.done
}

// run calls the handler with each queued message until the subscription
// stops, starting over after a handler panic.
func (s *Subscription) run() {
	defer close(s.done)
	for !s.drain() {
	}
}

// drain calls the handler with each queued message. It receives without a
// select, which keeps the hand-off as cheap as a plain channel's: stop wakes
// it with a nil message, which publishers never queue. It reports false
// when it recovered from a handler panic, so that run calls it again; one
// deferred recover per panic, not per message, keeps the loop cheap.
func (s *Subscription) drain() (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			s.counters.panics.Add(1)
			s.p.log.Error("plexo: handler panicked", "topic", s.route.name, "panic", fmt.Sprint(v))
		}
	}()
	for m := range s.queue {
		if s.stopping.Load() {
			return true
		}
		if m != nil {
			s.handle(s.ctx, m)
			s.counters.delivered.Add(1)
		}
	}
	return true
}

// offer queues m for the handler under the subscription's overflow policy.
// It returns an error only when OverflowBlock waited until ctx was done.
func (s *Subscription) offer(ctx context.Context, m any) error {
	select {
	case s.queue <- m:
		return nil
	default:
	}
	switch s.policy {
	case OverflowBlock:
		select {
		case s.queue <- m:
			return nil
		case <-s.quit:
			return nil
		case <-ctx.Done():
			s.counters.dropped.Add(1)
			return ctx.Err()
		}
	case OverflowDropNewest:
		s.counters.dropped.Add(1)
		return nil
	default: // OverflowDropOldest
		s.push(m)
		return nil
	}
}

// push queues m, discarding the oldest queued messages to make room.
func (s *Subscription) push(m any) {
	for {
		select {
		case s.queue <- m:
			return
		default:
		}
		select {
		case old := <-s.queue:
			if old != nil {
				s.counters.dropped.Add(1)
			}
		default:
		}
	}
}

func (c *subscriptionCounters) add(o *subscriptionCounters) {
	c.delivered.Add(o.delivered.Load())
	c.dropped.Add(o.dropped.Load())
	c.panics.Add(o.panics.Load())
}
