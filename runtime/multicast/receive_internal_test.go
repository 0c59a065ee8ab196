package multicast

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
)

// socketless returns a Transport with what its data readers use, and no
// socket: classifyData runs on it without a network.
func socketless(t *testing.T, self uint64, topics ...string) *Transport {
	t.Helper()
	cfg, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transport{
		cfg:         cfg,
		self:        self,
		subs:        make(map[agree.TopicID]string),
		seqs:        make(map[seqKey]*seqState),
		naking:      make(map[seqKey]*seqState),
		peers:       make(map[uint64]*peer),
		seqCap:      MaxSenderStates,
		reasmBudget: frame.NewBudget(reassemblyBytes(cfg.maxMessage)),
		wake:        make(chan struct{}, 1),
	}
	for _, name := range topics {
		tr.subs[agree.IDOf(name)] = name
	}
	return tr
}

// dataFrame returns the one datagram of a DATA message of topic from
// sender with sequence number seq.
func dataFrame(t *testing.T, tr *Transport, sender uint64, topic string, seq uint64, payload []byte) []byte {
	t.Helper()
	prefix := frame.AppendDataPrefix(nil, topic)
	prefix = binary.LittleEndian.AppendUint64(prefix, sender) // origin
	prefix = binary.LittleEndian.AppendUint64(prefix, seq)
	frames, err := frame.NewWriter(tr.cfg.domain, sender, tr.cfg.mtu, nil).Frames(frame.KindData, uint64(agree.IDOf(topic)), seq, prefix, payload)
	if err != nil || len(frames) != 1 {
		t.Fatalf("framing: %d frames, %v", len(frames), err)
	}
	return append([]byte(nil), frames[0]...)
}

// TestClassifyDataDoesNotAllocate checks that taking in a datagram (frame
// checks, the topic's name, sequence bookkeeping, the message's Source)
// allocates nothing once the sender is known.
func TestClassifyDataDoesNotAllocate(t *testing.T) {
	if RaceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	const topic = "test.v1.Alloc.proto"
	tr := socketless(t, 1, topic)
	r := tr.newReceiver()
	defer r.reasm.Reset()
	b := dataFrame(t, tr, 2, topic, 1, []byte("payload"))
	var h frame.Header
	var msg plexo.Message
	seq := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		// The sequence number is in the header and in the prefix; the
		// transport checks the header's.
		binary.LittleEndian.PutUint64(b[26:], seq)
		if drop := r.classifyData(time.Now(), b, &h, &msg); drop != noDrop {
			t.Fatalf("message %d dropped: reason %d", seq, drop)
		}
		r.release() // delivered, as the reader does after Deliver
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per datagram, want 0", allocs)
	}
}

// TestSourceIsInternedPerNode checks that every message from one node
// carries the same Source, whatever its topic, that another node's differ,
// and that a node's Source is forgotten with its last sequence state.
func TestSourceIsInternedPerNode(t *testing.T) {
	const a, b = "test.v1.A.proto", "test.v1.B.proto"
	tr := socketless(t, 1, a, b)
	r := tr.newReceiver()
	defer r.reasm.Reset()
	receive := func(sender uint64, topic string, seq uint64) any {
		t.Helper()
		var h frame.Header
		var msg plexo.Message
		if drop := r.classifyData(time.Now(), dataFrame(t, tr, sender, topic, seq, []byte{1}), &h, &msg); drop != noDrop {
			t.Fatalf("message %d of %s from %d dropped: reason %d", seq, topic, sender, drop)
		}
		r.release() // delivered, as the reader does after Deliver
		return msg.Source
	}
	first := receive(2, a, 1)
	if got := receive(2, a, 2); got != first {
		t.Errorf("node 2's second message on %s has Source %v, its first %v", a, got, first)
	}
	if got := receive(2, b, 1); got != first {
		t.Errorf("node 2's message on %s has Source %v, on %s %v", b, got, a, first)
	}
	if got := receive(3, a, 1); got == first {
		t.Errorf("node 3's message has node 2's Source %v", got)
	}
	if p, ok := first.(*peer); !ok || p.t != tr || p.node != 2 {
		t.Fatalf("Source %#v, want node 2's peer of this transport", first)
	}
	if len(tr.peers) != 2 {
		t.Fatalf("%d peers interned, want 2", len(tr.peers))
	}
	// Unsubscribing from both topics lets the sweep drop every state, and
	// with them the peers.
	subs := tr.subs
	tr.subs = map[agree.TopicID]string{}
	tr.sweepSeqs(time.Now(), time.Hour, time.Hour, func(uint64) bool { return true })
	if len(tr.seqs) != 0 || len(tr.peers) != 0 {
		t.Fatalf("after the sweep: %d sequence states, %d peers; want none", len(tr.seqs), len(tr.peers))
	}
	tr.subs = subs
	if got := receive(2, a, 3); got == first {
		t.Error("node 2 heard again after being forgotten has its old Source")
	}
}

// TestSendSkipsItsOwnSource checks that a message this transport delivered
// is not sent again by it (its peers got it already), and that a Source
// of another transport does not stop it.
func TestSendSkipsItsOwnSource(t *testing.T) {
	tr := socketless(t, 1)
	other := socketless(t, 1)
	msg := &plexo.Message{Topic: "test.v1.A.proto", Source: &peer{t: tr, node: 2}}
	// The transport is not started: a send that went on would fail.
	if err := tr.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send of a message from its own peer: %v, want nil", err)
	}
	msg.Source = &peer{t: other, node: 2}
	if err := tr.Send(t.Context(), msg); err == nil {
		t.Fatal("Send of another transport's message returned nil from an unstarted transport")
	}
}
