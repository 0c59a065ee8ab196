package plexo

import (
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many messages the handler's goroutine takes from its
// ring at once, so that its batch stays small beside the ring.
const maxBatch = 128

// A ring is a subscription's bounded queue: publishers put messages in, the
// subscription's goroutine takes out everything there is at once. The
// taking side parks only when the ring is empty, and a putting side wakes it
// only then, so a burst of messages costs one wake-up and one lock on the
// taking side per batch rather than per message.
type ring struct {
	mu     sync.Mutex
	buf    []any
	head   int  // index of the oldest message
	n      int  // messages queued
	parked bool // the taking goroutine waits on wake
	closed bool // shut: puts drop their message
	// wake carries one token to a parked taker.
	wake chan struct{}
	// space is closed when a full ring gets room, for publishers that
	// wait under OverflowBlock; nil while nobody waits.
	space chan struct{}
}

func (r *ring) init(size int) {
	r.buf = make([]any, size)
	r.wake = make(chan struct{}, 1)
}

// put queues m under policy. It reports whether a message was dropped (the
// oldest one, m itself, or m because the ring is shut), and returns a
// channel to wait on, without queueing m, when the ring is full and policy
// is OverflowBlock.
func (r *ring) put(m any, policy Overflow) (dropped bool, space <-chan struct{}) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return true, nil
	}
	dropped, full := r.add(m, policy)
	switch {
	case full:
		space = r.spaceSignal()
		r.mu.Unlock()
		return false, space
	case dropped && policy == OverflowDropNewest:
		r.mu.Unlock() // nothing new to take: no wake-up
		return true, nil
	}
	wake := r.parked
	r.parked = false
	r.mu.Unlock()
	if wake {
		r.wake <- struct{}{}
	}
	return dropped, nil
}

// add queues m under policy, with r.mu held: the one placement rule of put
// and putBatch. It reports whether a message was dropped (m itself under
// OverflowDropNewest; the oldest, whose place m takes, under
// OverflowDropOldest) and, under OverflowBlock, whether the ring is full and
// m was not queued.
func (r *ring) add(m any, policy Overflow) (dropped, full bool) {
	if r.n < len(r.buf) {
		i := r.head + r.n
		if i >= len(r.buf) {
			i -= len(r.buf)
		}
		r.buf[i] = m
		r.n++
		return false, false
	}
	switch policy {
	case OverflowBlock:
		return false, true
	case OverflowDropNewest:
		return true, false
	}
	// OverflowDropOldest: the new message takes the oldest's place, which
	// becomes the newest.
	r.buf[r.head] = m
	if r.head++; r.head == len(r.buf) {
		r.head = 0
	}
	return true, false
}

// spaceSignal returns the channel that is closed when a full ring has room
// again, with r.mu held.
func (r *ring) spaceSignal() <-chan struct{} {
	if r.space == nil {
		r.space = make(chan struct{})
	}
	return r.space
}

// putBatch queues the messages of ms, in order, under policy, as put does
// for each, with one lock and at most one wake-up for all of them. It
// returns how many of ms it dealt with (queued or dropped), starting from
// the first, how many of those it dropped (older messages that the newer
// took the place of count too), and whether it woke the parked taker. When
// the ring fills and policy is OverflowBlock, it stops there and returns a
// channel to wait on before putting the rest.
func (r *ring) putBatch(ms []any, policy Overflow) (done, dropped int, woke bool, space <-chan struct{}) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return len(ms), len(ms), false, nil
	}
	for _, m := range ms {
		d, full := r.add(m, policy)
		if full {
			space = r.spaceSignal()
			break
		}
		done++
		if d {
			dropped++
		}
	}
	woke = r.parked && r.n > 0
	if woke {
		r.parked = false
	}
	r.mu.Unlock()
	if woke {
		r.wake <- struct{}{}
	}
	return done, dropped, woke, space
}

// take appends the queued messages, at most maxBatch, to dst and removes
// them from the ring. When the ring is empty it parks until a message comes
// or stop is set and wakeUp called; then it returns dst unchanged.
func (r *ring) take(dst []any, stop *atomic.Bool) []any {
	r.mu.Lock()
	for r.n == 0 {
		if stop.Load() {
			r.mu.Unlock()
			return dst
		}
		r.parked = true
		r.mu.Unlock()
		<-r.wake
		r.mu.Lock()
	}
	k := min(r.n, maxBatch)
	end := r.head + k
	if end <= len(r.buf) {
		dst = append(dst, r.buf[r.head:end]...)
		clear(r.buf[r.head:end])
	} else {
		end -= len(r.buf)
		dst = append(dst, r.buf[r.head:]...)
		dst = append(dst, r.buf[:end]...)
		clear(r.buf[r.head:])
		clear(r.buf[:end])
	}
	if end == len(r.buf) {
		end = 0
	}
	r.head = end
	r.n -= k
	if r.space != nil {
		close(r.space)
		r.space = nil
	}
	r.mu.Unlock()
	return dst
}

// wakeUp wakes a parked taker, which then sees that it should stop.
func (r *ring) wakeUp() {
	r.mu.Lock()
	wake := r.parked
	r.parked = false
	r.mu.Unlock()
	if wake {
		r.wake <- struct{}{}
	}
}

// shut empties the ring for good and returns how many messages it held;
// later puts drop their message.
func (r *ring) shut() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.n
	r.closed = true
	clear(r.buf)
	r.head, r.n = 0, 0
	if r.space != nil {
		close(r.space)
		r.space = nil
	}
	return n
}

// len returns how many messages are queued.
func (r *ring) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
