package multicast

import (
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

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
	p := t.pubs.withID(agree.TopicID(topic))
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
