package frame

import (
	"encoding/binary"

	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// KindNak is the frame kind of a NAK: a receiver asking a sender to send
// again the messages of one topic that it missed. The frame's topic is the
// topic, its sequence the requester's control sequence.
const KindNak uint8 = 0x02

// MaxNakRanges is the most ranges one NAK carries.
const MaxNakRanges = 32

const nakFixed = 8 + 8 + 1 // timestamp, target, range count

// AppendNak appends the body of a NAK: a timestamp (unix nanoseconds, for
// the replay window), the node asked to resend, and up to [MaxNakRanges]
// ranges of sequence numbers (more are left out).
func AppendNak(b []byte, ts int64, target uint64, ranges []repair.Range) []byte {
	le := binary.LittleEndian
	ranges = ranges[:min(len(ranges), MaxNakRanges)]
	b = le.AppendUint64(b, uint64(ts))
	b = le.AppendUint64(b, target)
	b = append(b, byte(len(ranges)))
	for _, r := range ranges {
		b = le.AppendUint64(b, r.First)
		b = le.AppendUint64(b, r.Last)
	}
	return b
}

// ParseNak decodes a NAK body, appending its ranges to dst. Every range
// must be non-empty (First ≤ Last, First ≥ 1).
func ParseNak(b []byte, dst []repair.Range) (ts int64, target uint64, ranges []repair.Range, err error) {
	if len(b) < nakFixed {
		return 0, 0, dst, ErrNak
	}
	le := binary.LittleEndian
	n := int(b[16])
	if n > MaxNakRanges || len(b) != nakFixed+16*n {
		return 0, 0, dst, ErrNak
	}
	ts, target = int64(le.Uint64(b)), le.Uint64(b[8:])
	for i := range n {
		r := repair.Range{First: le.Uint64(b[nakFixed+16*i:]), Last: le.Uint64(b[nakFixed+16*i+8:])}
		if r.First == 0 || r.First > r.Last {
			return 0, 0, dst, ErrNak
		}
		dst = append(dst, r)
	}
	return ts, target, dst, nil
}
