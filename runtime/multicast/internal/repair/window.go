package repair

// WindowSize is how many sequence numbers below the highest one a [Window]
// tracks: a message missing by more than that can no longer be repaired.
const WindowSize = 64

// A Window follows one sender's sequence numbers on one topic: it drops
// duplicates, counts gaps, and accepts a missing message that arrives late
// (a repair) once. The zero Window is ready; the first sequence it sees
// starts it, with no gap counted before it. It is not safe for concurrent
// use.
type Window struct {
	top     uint64 // highest sequence seen; 0 before the first
	missing uint64 // bit i: sequence top-1-i is missing
}

// A Verdict is what a [Window] makes of a sequence number.
type Verdict uint8

// Verdicts.
const (
	Duplicate Verdict = iota // seen before, or too old to tell: drop
	Fresh                    // the next message, or one after a gap
	Repaired                 // a missing message, arriving late
)

// Add records seq and returns its verdict and, for a message after a gap,
// how many messages the gap holds.
func (w *Window) Add(seq uint64) (v Verdict, lost uint64) {
	switch {
	case seq == 0:
		return Duplicate, 0
	case w.top == 0:
		w.top = seq
		return Fresh, 0
	case seq > w.top:
		shift := seq - w.top
		lost = shift - 1
		if shift >= WindowSize {
			w.missing = 0
		} else {
			w.missing <<= shift
		}
		// The new gap: top+1 .. seq-1 are bits 0 .. shift-2.
		w.missing |= lowBits(min(lost, WindowSize))
		w.top = seq
		return Fresh, lost
	}
	d := w.top - seq // ≥ 0
	if d == 0 || d > WindowSize {
		return Duplicate, 0
	}
	bit := uint64(1) << (d - 1)
	if w.missing&bit == 0 {
		return Duplicate, 0
	}
	w.missing &^= bit
	return Repaired, 0
}

func lowBits(n uint64) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// Pending reports whether some message in the window is missing.
func (w *Window) Pending() bool { return w.missing != 0 }

// A Range is the sequence numbers First through Last.
type Range struct{ First, Last uint64 }

// Missing appends the runs of missing sequence numbers, oldest first.
func (w *Window) Missing(dst []Range) []Range {
	for i := WindowSize - 1; i >= 0; i-- {
		if w.missing&(1<<i) == 0 {
			continue
		}
		seq := w.top - 1 - uint64(i)
		if n := len(dst); n > 0 && dst[n-1].Last+1 == seq {
			dst[n-1].Last = seq
			continue
		}
		dst = append(dst, Range{seq, seq})
	}
	return dst
}
