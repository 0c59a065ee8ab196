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

// accept parses and authenticates one datagram.
func (r *receiver) accept(b []byte, h *frame.Header) ([]byte, bool) {
	t := r.t
	body, _, err := frame.Parse(b, h)
	if err != nil {
		t.counters.badFrames.Add(1)
		return nil, false
	}
	if h.Domain != t.cfg.domain {
		t.counters.otherDomain.Add(1)
		return nil, false
	}
	if h.Sender == t.self {
		return nil, false // our own, looped back
	}
	if r.keys != nil && !r.keys.Verify(b, h) {
		t.counters.authFailures.Add(1)
		return nil, false
	}
	return body, true
}

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
		body, ok := r.accept(r.buf[:n], &h)
		if !ok {
			continue
		}
		if h.Kind < frame.ControlBase && h.Kind != frame.KindNak {
			t.counters.badFrames.Add(1)
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
				t.counters.badFrames.Add(1)
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
			t.counters.badFrames.Add(1)
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

func (t *Transport) readData(conn *net.UDPConn) {
	defer t.wg.Done()
	r := t.newReceiver()
	defer r.reasm.Reset() // gives back its share of the transport's budget
	var h frame.Header
	msg := plexo.Message{}
	for {
		n, _, err := conn.ReadFromUDPAddrPort(r.buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		t.counters.datagrams.Add(1)
		body, ok := r.accept(r.buf[:n], &h)
		if !ok {
			continue
		}
		if h.Kind != frame.KindData {
			t.counters.badFrames.Add(1)
			continue
		}
		if t.dropHook != nil && t.dropHook(h.Topic, h.Seq, h.Index) {
			continue
		}
		t.subsMu.RLock()
		name, wanted := t.subs[agree.TopicID(h.Topic)]
		t.subsMu.RUnlock()
		if !wanted {
			t.counters.unwanted.Add(1) // a topic sharing the group
			continue
		}
		if h.Count > 1 && r.isDuplicate(h.Sender, h.Topic, h.Seq) {
			if h.Index == 0 {
				t.counters.duplicates.Add(1) // once per message
			}
			continue
		}
		now := time.Now()
		whole, err := r.reasm.Add(now, &h, body)
		if err != nil {
			t.counters.reassemblyDrops.Add(1)
			continue
		}
		if whole == nil {
			continue
		}
		topic, rest, err := frame.ParseData(whole)
		if err != nil || len(rest) < 16 {
			t.counters.badFrames.Add(1)
			continue
		}
		if string(topic) != name {
			t.counters.unwanted.Add(1) // a 64-bit id collision: never deliver a wrong type
			continue
		}
		if !r.admitSeq(now, h.Sender, h.Topic, h.Seq) {
			t.counters.duplicates.Add(1)
			continue
		}
		msg = plexo.Message{
			Topic:    name,
			Origin:   binary.LittleEndian.Uint64(rest),
			Sequence: binary.LittleEndian.Uint64(rest[8:]),
			Payload:  rest[16:],
			Source:   source{t: t, node: h.Sender},
		}
		t.counters.received.Add(1)
		t.host.Deliver(&msg)
	}
}
