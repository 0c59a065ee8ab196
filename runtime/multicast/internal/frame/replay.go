package frame

import "time"

// A Replay rejects control messages replayed from a recording: a timestamp
// outside the window around now, or a (sender, sequence) already seen within
// the last 64 sequences of that sender. It is not safe for concurrent use.
type Replay struct {
	window  time.Duration
	senders map[uint64]*replayState
}

type replayState struct {
	top  uint64 // highest sequence seen
	seen uint64 // bit i: top-i seen
	last time.Time
}

// NewReplay returns a Replay accepting timestamps within window of now.
func NewReplay(window time.Duration) *Replay {
	return &Replay{window: window, senders: make(map[uint64]*replayState)}
}

// Accept reports whether the message (sender, seq, ts) is fresh, and
// records it.
func (r *Replay) Accept(now time.Time, sender, seq uint64, ts int64) bool {
	d := now.Sub(time.Unix(0, ts))
	if d > r.window || d < -r.window {
		return false
	}
	s := r.senders[sender]
	if s == nil {
		if len(r.senders) > 4096 {
			for id, o := range r.senders {
				if now.Sub(o.last) > r.window {
					delete(r.senders, id)
				}
			}
		}
		r.senders[sender] = &replayState{top: seq, seen: 1, last: now}
		return true
	}
	s.last = now
	switch {
	case seq > s.top:
		shift := seq - s.top
		if shift >= 64 {
			s.seen = 0
		} else {
			s.seen <<= shift
		}
		s.seen |= 1
		s.top = seq
		return true
	case s.top-seq >= 64:
		return false
	default:
		bit := uint64(1) << (s.top - seq)
		if s.seen&bit != 0 {
			return false
		}
		s.seen |= bit
		return true
	}
}
