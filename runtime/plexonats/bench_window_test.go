package plexonats_test

import (
	"sync/atomic"
	"time"
)

// A window lets a benchmark's publisher wait for its handler without
// polling: time.Sleep(10 * time.Microsecond) lasts 0.66 ms on average on
// the Linux machine the figures come from, long enough for the handler to
// drain the whole window and sit idle, so a benchmark that polls measures
// the timer rather than the path.
// Both sides of a comparison pay the same for it: one atomic add per
// message, and one wake-up per half window when the publisher is ahead.
type window struct {
	received atomic.Int64
	target   atomic.Int64  // the count the publisher waits for; 0 when it does not wait
	wake     chan struct{} // capacity 1
}

func newWindow() *window { return &window{wake: make(chan struct{}, 1)} }

// done records that the handler saw one more message.
func (w *window) done() {
	n := w.received.Add(1)
	if t := w.target.Load(); t != 0 && n >= t {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// wait returns true once the handler has seen n messages, or false when
// timeout fires first (a nil timeout never does).
func (w *window) wait(n int64, timeout <-chan time.Time) bool {
	defer w.target.Store(0)
	for w.received.Load() < n {
		// Announce the target, then look again: either this look sees the
		// handler's last add, or the handler sees the target and wakes us.
		w.target.Store(n)
		if w.received.Load() >= n {
			break
		}
		select {
		case <-w.wake: // possibly stale, from an earlier wait: the loop looks again
		case <-timeout:
			return false
		}
	}
	return true
}
