package multicast

import (
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// fresh checks a DATA message's sequence number: it drops duplicates (also
// those of make-before-break), counts gaps and repairs, and asks the sender
// for what is missing when repair is on.
func (r *receiver) fresh(now time.Time, sender, topic, seq uint64) bool {
	t := r.t
	k := seqKey{sender, topic}
	t.seqMu.Lock()
	state := t.seqState(k, now)
	v, lost := state.w.Add(seq)
	var ranges []repair.Range
	switch v {
	case repair.Duplicate:
		t.seqMu.Unlock()
		return false
	case repair.Repaired:
		t.counters.repaired.Add(1)
		if !state.w.Pending() {
			delete(t.naking, k)
		}
	case repair.Fresh:
		if lost > 0 {
			t.counters.gaps.Add(lost)
			if t.cfg.repair > 0 {
				state.nakAt, state.tries = now, 1
				t.naking[k] = state
				ranges = state.w.Missing(r.ranges[:0])
				r.ranges = ranges[:0]
				t.kick() // the loop sends the retries
			}
		}
	}
	t.seqMu.Unlock()
	if len(ranges) > 0 {
		t.sendNak(sender, topic, ranges)
	}
	return true
}

// done reports whether message seq of (sender, topic) was delivered
// already or is too old to deliver, so that its fragments need not be
// reassembled: the leftover fragments of a repair, or of a duplicate
// resend, would otherwise sit in the reassembler until they time out.
func (r *receiver) done(sender, topic, seq uint64) bool {
	t := r.t
	t.seqMu.Lock()
	defer t.seqMu.Unlock()
	state := t.seqs[seqKey{sender, topic}]
	return state != nil && state.w.Done(seq)
}

// retryNaks asks again for messages still missing, and reports whether
// some may still be asked for.
func (t *Transport) retryNaks(now time.Time) bool {
	type due struct {
		k      seqKey
		ranges []repair.Range
	}
	var send []due
	t.seqMu.Lock()
	for k, state := range t.naking {
		if !state.w.Pending() || state.tries >= nakTries {
			delete(t.naking, k)
			continue
		}
		if now.Sub(state.nakAt) >= nakRetry {
			state.nakAt = now
			state.tries++
			send = append(send, due{k, state.w.Missing(nil)})
		}
	}
	pending := len(t.naking) > 0
	t.seqMu.Unlock()
	for _, d := range send {
		t.sendNak(d.k.sender, d.k.topic, d.ranges)
	}
	return pending
}

// sendNak asks sender, on the control group, to send again the messages
// of topic in ranges.
func (t *Transport) sendNak(sender, topic uint64, ranges []repair.Range) {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	t.nakBody = frame.AppendNak(t.nakBody[:0], time.Now().UnixNano(), sender, ranges)
	if _, ok := t.sendOnControlGroup(frame.KindNak, topic, t.nakBody); ok {
		t.counters.naksSent.Add(1)
	}
}

// answerNak multicasts again, on the topic's current group, the messages a
// NAK addressed to this node asks for, as far as the ring still holds them.
func (t *Transport) answerNak(topic, target uint64, ranges []repair.Range) {
	if target != t.self {
		return
	}
	t.counters.naksReceived.Add(1)
	t.pubMu.RLock()
	p := t.pubIDs[agree.TopicID(topic)]
	t.pubMu.RUnlock()
	if p == nil || p.ring == nil {
		return
	}
	now := time.Now()
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	oldest := uint64(1)
	if n := uint64(p.ring.Len()); p.seq > n {
		oldest = p.seq - n + 1
	}
	for _, r := range ranges {
		lo, hi := r.First, min(r.Last, p.seq)
		if lo > hi {
			continue
		}
		if lo < oldest {
			t.counters.repairMisses.Add(min(hi, oldest-1) - lo + 1)
			lo = oldest
		}
		for seq := lo; seq <= hi && seq >= lo; seq++ {
			frames, held := p.ring.Resend(t.resendBuf[:0], seq, now, resendHoldoff)
			t.resendBuf = frames[:0]
			switch {
			case !held:
				t.counters.repairMisses.Add(1)
			case len(frames) > 0:
				if t.write(frames, p.group.Load()) == nil {
					t.counters.repairs.Add(1)
				}
			}
		}
	}
}
