package multicast

import (
	"encoding/binary"
	"math"
	"net"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// receiver is one reading goroutine's private state.
type receiver struct {
	t      *Transport
	keys   *frame.Keys
	reasm  *frame.Reassembler
	replay *frame.Replay
	buf    []byte
	ranges []repair.Range
	held   *seqState // admitted the message being delivered; see release
}

// reassemblyBytes is what partial messages may hold, for a largest message
// of maxMessage bytes: on one socket, and on all of a transport's sockets
// together.
func reassemblyBytes(maxMessage int) int { return 4 * min(maxMessage, math.MaxInt/4) }

func (t *Transport) newReceiver() *receiver {
	r := &receiver{
		t:   t,
		buf: make([]byte, 65536),
		reasm: frame.NewReassembler(frame.Limits{
			MaxMessage: t.cfg.maxMessage,
			MaxPartial: 64,
			MaxBytes:   reassemblyBytes(t.cfg.maxMessage),
			Timeout:    5 * time.Second,
			Shared:     t.reasmBudget,
		}),
	}
	if t.keys != nil {
		r.keys = t.keys.Clone()
		r.replay = frame.NewReplay(t.cfg.replay)
	}
	return r
}

// A dropReason tells why a receiver drops a datagram; noDrop, that it
// does not.
type dropReason uint8

// The drop reasons. Those before firstCountedDrop are counted nowhere; the
// others each in a counter of their own (counters.countDrop).
const (
	noDrop          dropReason = iota
	dropOwn                    // our own datagram, looped back
	dropHooked                 // dropped by the test hook, as a lossy network would
	dropFragment               // a fragment kept until its message is whole
	dropLeftover               // a later fragment of a message already delivered or too old
	dropBadFrame               // malformed, or a kind this socket does not carry
	dropOtherDomain            // another domain's
	dropAuth                   // a missing, unknown or bad tag
	dropUnwanted               // a topic not subscribed here, or a topic id collision
	dropDuplicate              // a message delivered already (counted once per message)
	dropReassembly             // over the reassembly bounds
	dropTruncated              // larger than the reader's slot (see batchReader)

	dropReasons // how many there are
)

// firstCountedDrop is the first reason counted in [Stats].
const firstCountedDrop = dropBadFrame

// accept parses and authenticates one datagram, and returns its body or
// why it is dropped.
func (r *receiver) accept(b []byte, h *frame.Header) ([]byte, dropReason) {
	t := r.t
	body, _, err := frame.Parse(b, h)
	switch {
	case err != nil:
		return nil, dropBadFrame
	case h.Domain != t.cfg.domain:
		return nil, dropOtherDomain
	case h.Sender == t.self:
		return nil, dropOwn
	case r.keys != nil && !r.keys.Verify(b, h):
		return nil, dropAuth
	}
	return body, noDrop
}

// readControl hands the control messages that come on the control group
// to the node, and the NAKs to answerNak, until the socket is closed.
func (t *Transport) readControl() {
	defer t.wg.Done()
	r := t.newReceiver()
	defer r.reasm.Reset() // gives back its share of the transport's budget
	var h frame.Header
	var m agree.Msg
	for {
		n, _, err := t.ctrl.ReadFromUDPAddrPort(r.buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		body, drop := r.accept(r.buf[:n], &h)
		if drop != noDrop {
			t.counters.countDrop(drop)
			continue
		}
		if h.Kind < frame.ControlBase && h.Kind != frame.KindNak {
			t.counters.countDrop(dropBadFrame)
			continue
		}
		now := time.Now()
		msg, err := r.reasm.Add(now, &h, body)
		if err != nil || msg == nil {
			continue
		}
		if h.Kind == frame.KindNak {
			ts, target, ranges, err := frame.ParseNak(msg, r.ranges[:0])
			r.ranges = ranges[:0]
			if err != nil {
				t.counters.countDrop(dropBadFrame)
				continue
			}
			if r.replay != nil && !r.replay.Accept(now, h.Sender, h.Seq, ts) {
				t.counters.replays.Add(1)
				continue
			}
			t.answerNak(h.Topic, target, ranges)
			continue
		}
		ts, err := frame.ParseControl(h.Kind, msg, &m)
		if err != nil || m.From != h.Sender {
			t.counters.countDrop(dropBadFrame)
			continue
		}
		if r.replay != nil && !r.replay.Accept(now, h.Sender, h.Seq, ts) {
			t.counters.replays.Add(1)
			continue
		}
		t.counters.controlReceived.Add(1)
		t.mu.Lock()
		if !t.closed {
			t.node.Handle(t.now(), &m)
			t.afterNode()
		}
		t.mu.Unlock()
	}
}

// readData delivers the messages that come on one data group's socket,
// until it is closed. It reads the datagrams waiting several at a time
// (see batchReader) and takes them in, in order, before reading again.
func (t *Transport) readData(conn *net.UDPConn) {
	defer t.wg.Done()
	r := t.newReceiver()
	defer r.reasm.Reset() // gives back its share of the transport's budget
	br, err := newBatchReader(conn, r.buf, t.cfg.mtu)
	if err != nil {
		t.log.Error("multicast: cannot read a group's socket", "error", err)
		return
	}
	var h frame.Header
	msg := plexo.Message{}
	for {
		n, err := br.next()
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		t.counters.datagrams.Add(uint64(n))
		now := time.Now()
		for i := range n {
			b, truncated := br.datagram(i)
			if truncated {
				t.counters.countDrop(dropTruncated)
				r.askAgain(now, b, &h)
				continue
			}
			if drop := r.classifyData(now, b, &h, &msg); drop != noDrop {
				t.counters.countDrop(drop)
				continue
			}
			t.counters.received.Add(1)
			t.host.Deliver(&msg)
			r.release()
		}
	}
}

// askAgain asks the sender of a DATA datagram truncated at the socket (b
// holds its start, read at now) to send its message again, with a NAK of
// that one sequence number, when repair is on and the message is one to
// deliver. The resent datagrams come whole: the reader no longer
// truncates. If nothing of the sender's has arrived on the topic yet, its
// sequence state starts just below the message (repair.Window.Expect), so
// that a later message overtaking the resend does not make it too old.
// The header cannot be authenticated without the rest; a forged one costs
// one NAK and a sequence state, as a forged message would.
func (r *receiver) askAgain(now time.Time, b []byte, h *frame.Header) {
	t := r.t
	if t.cfg.repair <= 0 || frame.ParseHeader(b, h) != nil || h.Kind != frame.KindData ||
		h.Domain != t.cfg.domain || h.Sender == t.self {
		return
	}
	t.subsMu.RLock()
	_, wanted := t.subs[agree.TopicID(h.Topic)]
	t.subsMu.RUnlock()
	if !wanted {
		return
	}
	t.seqMu.Lock()
	t.seqState(seqKey{h.Sender, h.Topic}, now).w.Expect(h.Seq)
	t.seqMu.Unlock()
	t.sendNak(h.Sender, h.Topic, append(r.ranges[:0], repair.Range{First: h.Seq, Last: h.Seq}))
}

// classifyData takes in one datagram b from a data group's socket, read
// at now. When it completes a message to deliver, it sets *msg to that
// message (whose payload points into the receiver's buffers) and returns
// noDrop; otherwise it returns why the datagram is dropped.
func (r *receiver) classifyData(now time.Time, b []byte, h *frame.Header, msg *plexo.Message) dropReason {
	t := r.t
	body, drop := r.accept(b, h)
	switch {
	case drop != noDrop:
		return drop
	case h.Kind != frame.KindData:
		return dropBadFrame
	case t.dropHook != nil && t.dropHook(h.Topic, h.Seq, h.Index):
		return dropHooked
	}
	t.subsMu.RLock()
	name, wanted := t.subs[agree.TopicID(h.Topic)]
	t.subsMu.RUnlock()
	if !wanted {
		return dropUnwanted // a topic sharing the group
	}
	if h.Count > 1 && r.isDuplicate(h.Sender, h.Topic, h.Seq) {
		if h.Index == 0 {
			return dropDuplicate // counted once per message
		}
		return dropLeftover
	}
	whole, err := r.reasm.Add(now, h, body)
	switch {
	case err != nil:
		return dropReassembly
	case whole == nil:
		return dropFragment
	}
	topic, rest, err := frame.ParseData(whole)
	switch {
	case err != nil || len(rest) < 16:
		return dropBadFrame
	case string(topic) != name:
		return dropUnwanted // a 64-bit id collision: never deliver a wrong type
	}
	src := r.admitSeq(now, h.Sender, h.Topic, h.Seq)
	if src == nil {
		return dropDuplicate
	}
	*msg = plexo.Message{
		Topic:    name,
		Origin:   binary.LittleEndian.Uint64(rest),
		Sequence: binary.LittleEndian.Uint64(rest[8:]),
		Payload:  rest[16:],
		Source:   src, // a pointer: boxing it does not allocate
	}
	return noDrop
}
