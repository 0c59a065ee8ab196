package plexo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Subscription is one handler's registration for a topic in a [Plexus],
// with its own goroutine and bounded queue, or, with [WithInline], run on
// the goroutine that delivers each message. It is safe for concurrent use.
type Subscription struct {
	p     *Plexus
	route *route
	// handle calls the user's handler with one queued delivery: a
	// proto.Message for a typed subscription, a *rawDelivery for a raw one.
	handle func(context.Context, any)
	policy Overflow
	raw    bool // receives encoded payloads (SubscribeRaw)

	// ring is the queue of a subscription that has its own goroutine.
	ring ring
	// batch is what the handler's goroutine took from the ring at once,
	// and next the index of the first message it has not handled yet;
	// both belong to the handler's goroutine.
	batch []any
	next  int
	// taken is how many messages of batch the handler has not been called
	// with yet, for Stats.
	taken atomic.Int64

	// inline subscriptions have no queue and no goroutine: the delivering
	// goroutine calls the handler under inlineMu, one call at a time.
	inline   bool
	inlineMu sync.Mutex
	// handlerGoroutine is the ID of the goroutine that runs the handler
	// of a queued subscription, so that Close can tell when the handler
	// itself calls it.
	handlerGoroutine atomic.Uint64

	// ctx is what the handler receives; cancel ends it when the
	// subscription closes.
	ctx      context.Context
	cancel   context.CancelFunc
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
	stopping atomic.Bool
	retired  bool // guarded by Plexus.mu

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
	Queued    int    // messages waiting for the handler now, in the queue or in the batch its goroutine took
}

func newSubscription(p *Plexus, r *route, cfg subscriptionConfig, handle func(context.Context, any)) *Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	queueSize := max(cfg.queueSize, 1)
	s := &Subscription{
		p:      p,
		route:  r,
		handle: handle,
		policy: cfg.overflow,
		inline: cfg.inline,
		ctx:    ctx,
		cancel: cancel,
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if !cfg.inline {
		s.ring.init(queueSize)
	}
	return s
}

// Topic returns the name of the subscribed topic.
func (s *Subscription) Topic() string { return s.route.name }

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	return SubscriptionStats{
		Delivered: s.counters.delivered.Load(),
		Dropped:   s.counters.dropped.Load(),
		Panics:    s.counters.panics.Load(),
		Queued:    s.ring.len() + int(s.taken.Load()),
	}
}

// Close ends the subscription: it withdraws its interest, stops further
// deliveries and drops (and counts) what is still queued. Called from
// outside the handler, Close also waits for a running handler call to
// return; called by the handler itself, it returns at once and the current
// call finishes normally. Close is safe to call more than once, concurrently,
// and after [Plexus.Close].
func (s *Subscription) Close() error {
	s.p.unsubscribe(s)
	s.stop()
	return nil
}

func (s *Subscription) start() {
	if !s.inline {
		go s.run()
	}
}

// stop ends deliveries and, unless the handler itself called it, waits for
// a running handler call. The first call retires the counters into the
// route's; every call waits as the first does.
func (s *Subscription) stop() {
	s.once.Do(func() {
		s.stopping.Store(true)
		close(s.quit) // releases publishers waiting under OverflowBlock
		s.cancel()
		if s.inline {
			close(s.done)
		} else {
			s.ring.wakeUp()
		}
	})
	if s.inline {
		if calledFromInlineHandler() {
			// The call in progress, if any, may be this Close's caller:
			// callInline retires when it returns.
			if s.inlineMu.TryLock() {
				s.inlineMu.Unlock()
				s.retire()
			}
			return
		}
		s.inlineMu.Lock() // a call in progress has returned
		s.inlineMu.Unlock()
		s.retire()
		return
	}
	if s.handlerGoroutine.Load() == goroutineID() {
		return // the handler's goroutine retires when the call returns
	}
	<-s.done
}

// retire adds the subscription's counters to its route's retired ones,
// once, so that the topic's statistics keep them.
func (s *Subscription) retire() {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.retired {
		return
	}
	s.retired = true
	s.route.retired.add(&s.counters)
}

// run calls the handler with each queued message until the subscription
// stops, starting over after a handler panic, and then drops what is left
// in the queue.
func (s *Subscription) run() {
	s.handlerGoroutine.Store(goroutineID())
	defer close(s.done)
	for !s.handleQueued() {
	}
	dropped := len(s.batch) - s.next
	clear(s.batch)
	s.batch, s.next = nil, 0
	s.taken.Store(0)
	dropped += s.ring.shut()
	s.counters.dropped.Add(uint64(dropped))
	s.retire()
}

// handleQueued calls the handler with each queued message, taking from the
// ring everything that is queued at once and parking only when the ring is
// empty, so that a burst of messages costs one wake-up and one lock per
// batch rather than per message. It reports false when it recovered from a
// handler panic, so that run calls it again to go on with the rest of the
// batch; one deferred recover per panic, not per message, keeps the loop
// cheap.
func (s *Subscription) handleQueued() (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			s.handlerPanicked(v)
		}
	}()
	for {
		for s.next < len(s.batch) {
			if s.stopping.Load() {
				return true
			}
			m := s.batch[s.next]
			s.batch[s.next] = nil
			s.next++
			if len(s.batch) > 1 {
				s.taken.Store(int64(len(s.batch) - s.next))
			}
			s.handle(s.ctx, m)
			s.counters.delivered.Add(1)
		}
		if len(s.batch) > 1 {
			s.taken.Store(0)
		}
		if s.stopping.Load() {
			return true
		}
		s.batch, s.next = s.ring.take(s.batch[:0], &s.stopping), 0
		if len(s.batch) > 1 {
			s.taken.Store(int64(len(s.batch)))
		}
	}
}

func (s *Subscription) handlerPanicked(v any) {
	s.counters.panics.Add(1)
	s.p.log.Error("plexo: handler panicked", "topic", s.route.name, "panic", fmt.Sprint(v))
}

// callInline calls the handler of an inline subscription with m on the
// calling goroutine, one call at a time.
func (s *Subscription) callInline(m any) {
	s.inlineMu.Lock()
	if !s.stopping.Load() {
		s.inlineHandlerCall(m)
	}
	s.inlineMu.Unlock()
	if s.stopping.Load() {
		s.retire() // the handler may have closed its own subscription
	}
}

// callInlineBatch is callInline for each of ms in order, holding inlineMu
// once for all of them; it stops when the subscription does, even within
// the batch (the handler may close its own subscription).
func (s *Subscription) callInlineBatch(ms []any) {
	s.inlineMu.Lock()
	for _, m := range ms {
		if s.stopping.Load() {
			break
		}
		s.inlineHandlerCall(m)
	}
	s.inlineMu.Unlock()
	if s.stopping.Load() {
		s.retire()
	}
}

// inlineHandlerCall is the frame that calledFromInlineHandler looks for.
// It calls recover only when the handler did not return, which keeps the
// call that returns cheap.
func (s *Subscription) inlineHandlerCall(m any) {
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil {
				s.handlerPanicked(v)
			}
		}
	}()
	s.handle(s.ctx, m)
	returned = true
	s.counters.delivered.Add(1)
}

// offer queues m for the handler under the subscription's overflow policy.
// It returns an error only when OverflowBlock waited until ctx was done.
func (s *Subscription) offer(ctx context.Context, m any) error {
	if s.inline {
		s.callInline(m)
		return nil
	}
	for {
		dropped, space := s.ring.put(m, s.policy)
		if dropped {
			s.counters.dropped.Add(1)
		}
		if space == nil {
			return nil
		}
		select { // OverflowBlock with a full ring
		case <-space:
		case <-s.quit:
			return nil
		case <-ctx.Done():
			s.counters.dropped.Add(1)
			return ctx.Err()
		}
	}
}

// offerBatch offers each message of ms in order, as offer does, queueing
// them with one lock and waking the handler's goroutine at most once, or
// calling an inline handler with each under one lock. It reports whether
// it woke the handler's goroutine, and returns an error only when
// OverflowBlock waited until ctx was done; the messages not queued then
// count as dropped.
func (s *Subscription) offerBatch(ctx context.Context, ms []any) (woke bool, err error) {
	if s.inline {
		s.callInlineBatch(ms)
		return false, nil
	}
	for len(ms) > 0 {
		done, dropped, w, space := s.ring.putBatch(ms, s.policy)
		woke = woke || w
		if dropped > 0 {
			s.counters.dropped.Add(uint64(dropped))
		}
		ms = ms[done:]
		if space == nil {
			return woke, nil
		}
		select { // OverflowBlock with a full ring
		case <-space:
		case <-s.quit:
			return woke, nil
		case <-ctx.Done():
			s.counters.dropped.Add(uint64(len(ms)))
			return woke, ctx.Err()
		}
	}
	return woke, nil
}

func (c *subscriptionCounters) add(o *subscriptionCounters) {
	c.delivered.Add(o.delivered.Load())
	c.dropped.Add(o.dropped.Load())
	c.panics.Add(o.panics.Load())
}
