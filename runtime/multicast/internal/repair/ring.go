package repair

import "time"

// A Ring keeps the datagrams of the last messages sent on one topic, so
// that they can be sent again when a receiver reports them missing. It
// reuses its buffers: once they have grown, Put does not allocate. It is
// not safe for concurrent use.
type Ring struct {
	slots    []slot
	maxBytes int
}

type slot struct {
	seq    uint64 // 0: empty
	buf    []byte
	lens   []int
	resent time.Time
}

// NewRing returns a Ring of the last n messages, each kept only when its
// datagrams total at most maxBytes.
func NewRing(n, maxBytes int) *Ring {
	return &Ring{slots: make([]slot, n), maxBytes: maxBytes}
}

// Len returns how many messages the ring holds at most.
func (r *Ring) Len() int { return len(r.slots) }

// Put records the datagrams of message seq (seq ≥ 1), replacing the
// oldest. A message larger than the ring's bound is not kept.
func (r *Ring) Put(seq uint64, frames [][]byte) {
	s := &r.slots[seq%uint64(len(r.slots))]
	s.seq = 0
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	if n > r.maxBytes || seq == 0 {
		return
	}
	s.buf, s.lens = s.buf[:0], s.lens[:0]
	for _, f := range frames {
		s.buf = append(s.buf, f...)
		s.lens = append(s.lens, len(f))
	}
	s.seq, s.resent = seq, time.Time{}
}

// Resend appends to dst the datagrams of message seq, if the ring still
// holds it and it was not resent within holdoff before now (several
// receivers missing the same message are served by one resend), and
// records the resend. The datagrams are views into the ring, valid until
// the next Put.
func (r *Ring) Resend(dst [][]byte, seq uint64, now time.Time, holdoff time.Duration) (_ [][]byte, held bool) {
	s := &r.slots[seq%uint64(len(r.slots))]
	if seq == 0 || s.seq != seq {
		return dst, false
	}
	if !s.resent.IsZero() && now.Sub(s.resent) < holdoff {
		return dst, true
	}
	s.resent = now
	off := 0
	for _, n := range s.lens {
		dst = append(dst, s.buf[off:off+n:off+n])
		off += n
	}
	return dst, true
}
