package frame

import "sync/atomic"

// A Budget is a bound on the bytes that several [Reassembler]s hold
// together: a transport reads each socket in its own goroutine, with its
// own Reassembler, and without a shared bound the memory that forged
// fragments can pin would grow with the number of groups joined. It is
// safe for concurrent use.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a Budget of max bytes.
func NewBudget(max int) *Budget { return &Budget{max: int64(max)} }

// Used returns the bytes taken and not yet given back.
func (b *Budget) Used() int { return int(b.used.Load()) }

// take reserves n bytes, and reports whether they fit.
func (b *Budget) take(n int) bool {
	if b.used.Add(int64(n)) > b.max {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

// give returns n bytes taken.
func (b *Budget) give(n int) { b.used.Add(-int64(n)) }
