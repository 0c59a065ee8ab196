package multicast

import (
	"sync"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// MaxSenderStates caps the (sender, topic) pairs whose DATA sequence
// numbers a transport follows. Sender ids come from the network (a
// restarted node has a new one, and without [WithKeys] anyone on the LAN
// can forge them), so the table is bounded: beyond the cap, the pair heard
// from least recently is evicted and counted ([Stats].SenderEvictions).
// Each entry holds a window of max(repair size, 64) bits, so the table
// takes at most MaxSenderStates × (that / 8 + about 150) bytes.
const MaxSenderStates = 4096

// minDepartGrace is the least time a sender that left the membership view
// must have been silent before its state is dropped; see sweepSeqs.
const minDepartGrace = time.Second

type seqKey struct{ sender, topic uint64 }

// seqState follows one sender's sequence numbers on one topic. The states
// form a list, most recently heard first, for eviction beyond the cap.
type seqState struct {
	key        seqKey
	w          repair.Window
	last       time.Time // last DATA from this sender on this topic
	nakAt      time.Time // last NAK sent
	tries      int       // NAKs sent for the current holes
	src        *peer     // the sender's Source, shared by its states
	prev, next *seqState

	// delivering is held from a message's admission until its delivery
	// returns. While a topic relocates its messages come on two groups,
	// each read by a goroutine of its own: without it, one could deliver
	// a message admitted after the one the other is about to deliver.
	delivering sync.Mutex
}

// seqState returns the state of k, making it (and evicting the least
// recently heard state beyond the cap) if there is none; t.seqMu held.
func (t *Transport) seqState(k seqKey, now time.Time) *seqState {
	state := t.seqs[k]
	if state != nil {
		state.last = now
		if t.seqHead != state {
			t.unlinkSeq(state)
			t.pushSeq(state)
		}
		return state
	}
	for len(t.seqs) >= max(t.seqCap, 1) && t.seqTail != nil {
		t.dropSeq(t.seqTail)
		t.counters.senderEvictions.Add(1)
	}
	// The window spans this node's own repair ring (a domain's nodes
	// share the setting): a repair queues behind all its sender sent
	// before it, so it may arrive that far behind the newest message.
	src := t.peers[k.sender]
	if src == nil {
		src = &peer{t: t, node: k.sender}
		t.peers[k.sender] = src
	}
	src.refs++
	state = &seqState{key: k, w: repair.NewWindow(max(t.cfg.repair, repair.WindowSize)), last: now, src: src}
	t.seqs[k] = state
	t.pushSeq(state)
	return state
}

// admitSeq checks a DATA message's sequence number and returns the
// sender's Source if the message is to be delivered, nil if not: it drops
// duplicates (also those of make-before-break), counts gaps and repairs,
// and asks the sender for what is missing when repair is on.
//
// A message admitted holds its state's delivering lock, which the caller
// gives back with release once the message is delivered.
func (r *receiver) admitSeq(now time.Time, sender, topic, seq uint64) *peer {
	t := r.t
	k := seqKey{sender, topic}
	t.seqMu.Lock()
	state := t.seqState(k, now)
	for !state.delivering.TryLock() {
		// Another socket's reader delivers a message of this sender and
		// topic: wait for it, without holding seqMu.
		t.seqMu.Unlock()
		state.delivering.Lock()
		state.delivering.Unlock()
		t.seqMu.Lock()
		state = t.seqState(k, now)
	}
	v, lost := state.w.Add(seq)
	var ranges []repair.Range
	switch v {
	case repair.Duplicate:
		t.seqMu.Unlock()
		state.delivering.Unlock()
		return nil
	case repair.Repaired:
		t.counters.repaired.Add(1)
		if !state.w.Pending() {
			delete(t.naking, k)
		}
	case repair.Newest:
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
	src := state.src
	t.seqMu.Unlock()
	r.held = state
	if len(ranges) > 0 {
		t.sendNak(sender, topic, ranges)
	}
	return src
}

// release ends the delivery of the message admitSeq admitted last, if it
// has not ended yet.
func (r *receiver) release() {
	if r.held != nil {
		r.held.delivering.Unlock()
		r.held = nil
	}
}

// isDuplicate reports whether message seq of (sender, topic) was delivered
// already or is too old to deliver, so that its fragments need not be
// reassembled: the leftover fragments of a repair, or of a duplicate
// resend, would otherwise sit in the reassembler until they time out.
func (r *receiver) isDuplicate(sender, topic, seq uint64) bool {
	t := r.t
	t.seqMu.Lock()
	defer t.seqMu.Unlock()
	state := t.seqs[seqKey{sender, topic}]
	return state != nil && state.w.IsDuplicate(seq)
}

func (t *Transport) pushSeq(state *seqState) {
	state.prev, state.next = nil, t.seqHead
	if t.seqHead != nil {
		t.seqHead.prev = state
	}
	t.seqHead = state
	if t.seqTail == nil {
		t.seqTail = state
	}
}

func (t *Transport) unlinkSeq(state *seqState) {
	if state.prev != nil {
		state.prev.next = state.next
	} else {
		t.seqHead = state.next
	}
	if state.next != nil {
		state.next.prev = state.prev
	} else {
		t.seqTail = state.prev
	}
	state.prev, state.next = nil, nil
}

// dropSeq forgets a state; t.seqMu held.
func (t *Transport) dropSeq(state *seqState) {
	t.unlinkSeq(state)
	delete(t.seqs, state.key)
	delete(t.naking, state.key)
	if state.src.refs--; state.src.refs == 0 {
		delete(t.peers, state.key.sender)
	}
}

// sweepSeqs drops the sequence state nothing needs any more: that of
// topics this node no longer subscribes to, of senders that left the
// membership view (inView false: no HELLO for 3 heartbeats) and sent no
// DATA for depart, and of any sender silent for idle.
//
// Dropping restarts duplicate detection for the pair: if the sender speaks
// again, its next message starts a new window (no gap counted before it),
// and an older message arriving after that one is dropped as too old. What
// could slip through is a copy of a message sent before the silence that
// arrives after it, after a newer message has not: the copies a sender
// makes (the old group's during relocation, for 2 heartbeats, and repairs,
// asked for at most nakTries × nakRetry after a gap was seen) follow the
// original within far less than depart ≥ 1 s, so none is expected.
func (t *Transport) sweepSeqs(now time.Time, depart, idle time.Duration, inView func(sender uint64) bool) {
	t.subsMu.RLock()
	defer t.subsMu.RUnlock()
	t.seqMu.Lock()
	defer t.seqMu.Unlock()
	for state := t.seqTail; state != nil; {
		prev := state.prev
		silent := now.Sub(state.last)
		_, subscribed := t.subs[agree.TopicID(state.key.topic)]
		if !subscribed || silent > idle || (silent > depart && !inView(state.key.sender)) {
			t.dropSeq(state)
		}
		state = prev
	}
}
