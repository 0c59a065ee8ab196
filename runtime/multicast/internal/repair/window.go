package repair

import "math/bits"

// WindowSize is how many sequence numbers below the highest one the zero
// [Window] tracks: a message missing by more than that can no longer be
// repaired. [NewWindow] makes larger ones.
const WindowSize = 64

// MaxWindow is the largest size [NewWindow] accepts; larger requests are
// capped to it.
const MaxWindow = 1 << 16

// A Window follows one sender's sequence numbers on one topic: it drops
// duplicates, counts gaps, and accepts a missing message that arrives late
// (a repair) once. The zero Window is ready and tracks [WindowSize]
// sequence numbers; the first sequence it sees starts it, with no gap
// counted before it. It is not safe for concurrent use.
//
// The window must span at least the senders' repair rings: a repair is
// queued behind everything its sender sent before it, so when a receiver
// lags, a repair arrives as far behind the highest sequence seen as the
// sender's ring reaches back.
type Window struct {
	started bool     // a sequence was seen, or one expected (Expect)
	top     uint64   // highest sequence seen
	size    uint64   // sequences tracked below top; 0: WindowSize
	missing []uint64 // circular bitmap: bit seq%len is set while seq (top-size ≤ seq < top) is missing
	pending int      // bits set in missing
}

// NewWindow returns a Window that tracks the n sequence numbers below the
// highest one seen (n ≤ 0: [WindowSize]; at most [MaxWindow]).
func NewWindow(n int) Window {
	if n <= 0 {
		n = WindowSize
	}
	return Window{size: uint64(min(n, MaxWindow))}
}

// A Verdict is what a [Window] makes of a sequence number.
type Verdict uint8

// Verdicts.
const (
	Duplicate Verdict = iota // seen before, or too old to tell: drop
	Newest                   // the next message, or one after a gap
	Repaired                 // a missing message, arriving late
)

func (w *Window) init() {
	if w.size == 0 {
		w.size = WindowSize
	}
	if w.missing == nil {
		// One spare word: the bits of top-size .. top are distinct.
		w.missing = make([]uint64, w.size/64+1)
	}
}

func (w *Window) nbits() uint64 { return uint64(len(w.missing)) * 64 }

func (w *Window) bit(seq uint64) (word int, mask uint64) {
	i := seq % w.nbits()
	return int(i / 64), 1 << (i % 64)
}

// Add records seq and returns its verdict and, for a message after a gap,
// how many messages the gap holds.
func (w *Window) Add(seq uint64) (v Verdict, lost uint64) {
	w.init()
	switch {
	case seq == 0:
		return Duplicate, 0
	case !w.started:
		w.started, w.top = true, seq
		return Newest, 0
	case seq > w.top:
		lost = seq - w.top - 1
		// Sequences falling out of the window (below seq-size) are no
		// longer missing; top+1 .. seq-1 are.
		if seq-w.top >= w.nbits() {
			clear(w.missing)
			w.pending = 0
		} else {
			for s := w.top - min(w.top, w.size); s < seq-min(seq, w.size); s++ {
				w.clearBit(s)
			}
			w.clearBit(w.top) // top was seen; its bit may hold an old sequence's
		}
		for s := max(w.top+1, seq-min(seq, w.size)); s < seq; s++ {
			i, m := w.bit(s)
			w.missing[i] |= m
			w.pending++
		}
		i, m := w.bit(seq)
		if w.missing[i]&m != 0 {
			w.missing[i] &^= m
			w.pending--
		}
		w.top = seq
		return Newest, lost
	}
	d := w.top - seq // ≥ 0
	if d == 0 || d > w.size {
		return Duplicate, 0
	}
	i, m := w.bit(seq)
	if w.missing[i]&m == 0 {
		return Duplicate, 0
	}
	w.missing[i] &^= m
	w.pending--
	return Repaired, 0
}

func (w *Window) clearBit(seq uint64) {
	i, m := w.bit(seq)
	if w.missing[i]&m != 0 {
		w.missing[i] &^= m
		w.pending--
	}
}

// IsDuplicate reports whether [Window.Add] would find seq a duplicate (seen, or
// too old to tell), without recording anything: the fragments of such a
// message need not be reassembled.
func (w *Window) IsDuplicate(seq uint64) bool {
	switch {
	case seq == 0:
		return true
	case !w.started || seq > w.top:
		return false
	}
	d := w.top - seq
	if d == 0 || d > w.size {
		return true
	}
	i, m := w.bit(seq)
	return w.missing[i]&m == 0
}

// Expect starts a window that has seen nothing yet just below seq, as if
// seq−1 were the highest seen: seq and what follows it are new, what
// precedes it is too old, as when seq is the first seen. A started window
// is left as it is. It is for a message known to be on its way (asked for
// again) before any other of its sender's has arrived, so that one that
// overtakes it does not start the window above it.
func (w *Window) Expect(seq uint64) {
	w.init()
	if w.started || seq == 0 {
		return
	}
	w.started, w.top = true, seq-1
}

// Pending reports whether some message in the window is missing.
func (w *Window) Pending() bool { return w.pending > 0 }

// A Range is the sequence numbers First through Last.
type Range struct{ First, Last uint64 }

// Missing appends the runs of missing sequence numbers, oldest first.
func (w *Window) Missing(dst []Range) []Range {
	if w.pending == 0 {
		return dst
	}
	n := w.nbits()
	for seq := w.top - min(w.top, w.size); seq < w.top; {
		i := seq % n
		word := w.missing[i/64] >> (i % 64)
		if word == 0 {
			seq += 64 - i%64 // the rest of this word is clear
			continue
		}
		seq += uint64(bits.TrailingZeros64(word))
		if seq >= w.top {
			break
		}
		if k := len(dst); k > 0 && dst[k-1].Last+1 == seq {
			dst[k-1].Last = seq
		} else {
			dst = append(dst, Range{seq, seq})
		}
		seq++
	}
	return dst
}
