package frame

import "time"

// Limits bound a [Reassembler]'s memory.
type Limits struct {
	MaxMessage int // largest message accepted, in bytes
	MaxPartial int // messages being reassembled at once
	MaxBytes   int // bytes held by partial messages
	// Shared, when not nil, also bounds the bytes held by partial
	// messages, together with the other Reassemblers sharing it.
	Shared  *Budget
	Timeout time.Duration // a partial message older than this is dropped
}

type partialKey struct {
	sender, topic, seq uint64
	kind               uint8
}

type partial struct {
	buf     []byte
	got     []uint64 // bitmap of received fragments
	missing int
	count   uint16
	started time.Time
}

// A Reassembler joins fragments into messages with bounded memory. What
// exceeds the bounds, or times out, is dropped and counted. It is not safe
// for concurrent use.
type Reassembler struct {
	lim   Limits
	parts map[partialKey]*partial
	bytes int

	Dropped uint64 // messages dropped: too large, over the bounds, or timed out
}

// NewReassembler returns a Reassembler with the given limits.
func NewReassembler(lim Limits) *Reassembler {
	return &Reassembler{lim: lim, parts: make(map[partialKey]*partial)}
}

// Pending returns how many messages are partially reassembled.
func (r *Reassembler) Pending() (messages, bytes int) { return len(r.parts), r.bytes }

// Add takes one fragment (h and body as returned by [Parse]). It returns the
// whole message once its last fragment arrives: body itself for a message of
// one fragment, else a buffer the caller owns.
func (r *Reassembler) Add(now time.Time, h *Header, body []byte) ([]byte, error) {
	if int64(h.Length) > int64(r.lim.MaxMessage) {
		r.Dropped++
		return nil, ErrTooLarge
	}
	if h.Count == 1 {
		return body, nil
	}
	k := partialKey{h.Sender, h.Topic, h.Seq, h.Kind}
	p := r.parts[k]
	if p == nil {
		r.Expire(now)
		if len(r.parts) >= r.lim.MaxPartial || r.bytes+int(h.Length) > r.lim.MaxBytes ||
			(r.lim.Shared != nil && !r.lim.Shared.take(int(h.Length))) {
			r.Dropped++
			return nil, ErrTooLarge
		}
		p = &partial{
			buf:     make([]byte, h.Length),
			got:     make([]uint64, (int(h.Count)+63)/64),
			missing: int(h.Count),
			count:   h.Count,
			started: now,
		}
		r.parts[k] = p
		r.bytes += int(h.Length)
	}
	if p.count != h.Count || len(p.buf) != int(h.Length) {
		return nil, ErrFragment
	}
	w, bit := h.Index/64, uint64(1)<<(h.Index%64)
	if p.got[w]&bit != 0 {
		return nil, nil // duplicate fragment
	}
	off, _ := span(h.Length, h.Count, h.Index)
	copy(p.buf[off:], body)
	p.got[w] |= bit
	p.missing--
	if p.missing > 0 {
		return nil, nil
	}
	r.drop(k, p)
	return p.buf, nil
}

// drop forgets partial message p, giving back its bytes.
func (r *Reassembler) drop(k partialKey, p *partial) {
	delete(r.parts, k)
	r.bytes -= len(p.buf)
	if r.lim.Shared != nil {
		r.lim.Shared.give(len(p.buf))
	}
}

// Reset drops every partial message, giving back their bytes: a
// Reassembler sharing a [Budget] must be reset when it is no longer used.
func (r *Reassembler) Reset() {
	for k, p := range r.parts {
		r.drop(k, p)
	}
}

// Expire drops partial messages older than the timeout.
func (r *Reassembler) Expire(now time.Time) {
	for k, p := range r.parts {
		if now.Sub(p.started) > r.lim.Timeout {
			r.drop(k, p)
			r.Dropped++
		}
	}
}
