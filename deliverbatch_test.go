package plexo_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

// batchHost attaches two recording transports to p, the second wanting
// int64Topic, and returns the first one's Host as the BatchHost a Plexus
// gives every transport, with the second transport.
func batchHost(t *testing.T, p *plexo.Plexus) (plexo.BatchHost, *recordingTransport) {
	t.Helper()
	in, out := &recordingTransport{}, &recordingTransport{}
	for _, tr := range []*recordingTransport{in, out} {
		if err := p.Attach(tr); err != nil {
			t.Fatal(err)
		}
	}
	out.host.SetInterest(int64Topic.Name(), 1)
	bh, ok := in.host.(plexo.BatchHost)
	if !ok {
		t.Fatalf("the Host a Plexus gives its transports is a %T, not a BatchHost", in.host)
	}
	return bh, out
}

// int64Arrival returns an arrival of int64Topic carrying v.
func int64Arrival(t *testing.T, origin, seq uint64, v int64) plexo.Message {
	t.Helper()
	payload, err := plexo.ProtoCodec().Marshal(nil, wrapperspb.Int64(v))
	if err != nil {
		t.Fatal(err)
	}
	return plexo.Message{Topic: int64Topic.Name(), Payload: payload, Origin: origin, Sequence: seq, Source: "in"}
}

func int64Values(ms []*wrapperspb.Int64Value) []int64 {
	var vs []int64
	for _, m := range ms {
		vs = append(vs, m.GetValue())
	}
	return vs
}

// DeliverBatch does what Deliver does for each message in turn: every
// kind of subscription gets the new ones in order, duplicates, messages of
// unknown topics and undecodable ones are dropped and counted, and the
// others are forwarded, still encoded, to the transports that want them.
func TestDeliverBatchIsDeliverForEachInOrder(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t, plexo.WithLogger(discardLogger()))
	bh, out := batchHost(t, p)
	queued, inline := newCollector[*wrapperspb.Int64Value](), newCollector[*wrapperspb.Int64Value]()
	if _, err := int64Topic.Subscribe(ctx, p, queued.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := int64Topic.Subscribe(ctx, p, inline.Handle, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	var rawMu sync.Mutex
	var raw []uint64
	if _, err := p.SubscribeRaw(ctx, int64Topic.Name(), func(_ context.Context, m *plexo.RawMessage) {
		rawMu.Lock()
		raw = append(raw, m.Sequence)
		rawMu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}

	const origin = 7
	var batch []plexo.Message
	for seq := uint64(1); seq <= 3; seq++ {
		batch = append(batch, int64Arrival(t, origin, seq, int64(seq)))
	}
	batch = append(batch,
		int64Arrival(t, origin, 2, 2),  // a duplicate
		int64Arrival(t, p.ID(), 1, -1), // p's own message, back through a bridge
		plexo.Message{Topic: "unknown.v1.Nothing.proto", Payload: []byte{}, Origin: origin, Sequence: 4},
		plexo.Message{Topic: int64Topic.Name(), Payload: []byte{0xff}, Origin: origin, Sequence: 5},
	)
	// More than one chunk of the Plexus's, with runs of the topic split.
	for seq := uint64(6); seq < 200; seq++ {
		batch = append(batch, int64Arrival(t, origin, seq, int64(seq)))
		if seq%50 == 0 {
			batch = append(batch, plexo.Message{Topic: "unknown.v1.Nothing.proto", Origin: origin + 1, Sequence: seq})
		}
	}
	bh.DeliverBatch(batch)

	want := []int64{1, 2, 3}
	for v := int64(6); v < 200; v++ {
		want = append(want, v)
	}
	if got := int64Values(inline.Snapshot()); !slices.Equal(got, want) {
		t.Errorf("inline subscription got %v, want %v", got, want)
	}
	if got := int64Values(queued.WaitFor(t, len(want))); !slices.Equal(got, want) {
		t.Errorf("queued subscription got %v, want %v", got, want)
	}
	eventually(t, "the raw subscription gets every new message", func() bool {
		rawMu.Lock()
		defer rawMu.Unlock()
		return len(raw) >= len(want)+1 // and the undecodable one, which it does not decode
	})
	rawMu.Lock()
	wantRaw := []uint64{1, 2, 3, 5}
	for seq := uint64(6); seq < 200; seq++ {
		wantRaw = append(wantRaw, seq)
	}
	if !slices.Equal(raw, wantRaw) {
		t.Errorf("raw subscription got sequences %v, want %v", raw, wantRaw)
	}
	rawMu.Unlock()
	var forwarded []uint64
	for _, m := range out.sentMessages() {
		if m.Topic == int64Topic.Name() {
			forwarded = append(forwarded, m.Sequence)
		}
	}
	if !slices.Equal(forwarded, wantRaw) {
		t.Errorf("forwarded sequences %v, want %v", forwarded, wantRaw)
	}

	st := p.Stats()
	if st.Duplicates != 2 || st.Unrouted != 4 {
		t.Errorf("Duplicates %d, Unrouted %d; want 2 and 4", st.Duplicates, st.Unrouted)
	}
	ts := st.Topics[int64Topic.Name()]
	if ts.Received != uint64(len(wantRaw)) || ts.DecodeErrors != 1 {
		t.Errorf("Received %d, DecodeErrors %d; want %d and 1", ts.Received, ts.DecodeErrors, len(wantRaw))
	}
}

// DeliverBatch says whether it woke a subscription's goroutine, which a
// transport yields to after a lone request, and not when every handler ran
// inline.
func TestDeliverBatchReportsWhetherItWokeAGoroutine(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	bh, _ := batchHost(t, p)
	var inlineCalls atomic.Int64
	inline, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { inlineCalls.Add(1) }, plexo.WithInline())
	if err != nil {
		t.Fatal(err)
	}
	if bh.DeliverBatch([]plexo.Message{int64Arrival(t, 7, 1, 1)}) {
		t.Error("DeliverBatch woke a goroutine with only an inline subscription")
	}
	if inlineCalls.Load() != 1 {
		t.Fatalf("the inline handler ran %d times, want 1", inlineCalls.Load())
	}
	_ = inline.Close()

	var queuedCalls atomic.Int64
	if _, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { queuedCalls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	// The subscription's goroutine parks once its queue is empty.
	woke := false
	for seq := uint64(2); !woke && seq < 1000; seq++ {
		waitUntil(&queuedCalls, int64(seq-2))
		woke = bh.DeliverBatch([]plexo.Message{int64Arrival(t, 7, seq, 1), int64Arrival(t, 7, seq+1000, 1)})
	}
	if !woke {
		t.Error("DeliverBatch never reported waking the queued subscription's goroutine")
	}
}

// A batch that arrives through a transport costs one allocation per
// message, the decoded message, like single deliveries.
func TestDeliverBatchAllocatesOnlyTheMessages(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, inline := range []bool{false, true} {
		name := "queued"
		opts := []plexo.SubscribeOption{plexo.WithOverflow(plexo.OverflowBlock)}
		if inline {
			name = "inline"
			opts = append(opts, plexo.WithInline())
		}
		t.Run(name, func(t *testing.T) {
			p := newPlexus(t)
			tr := &discardTransport{}
			if err := p.Attach(tr); err != nil {
				t.Fatal(err)
			}
			bh := tr.host.(plexo.BatchHost)
			var handled atomic.Int64
			if _, err := int64Topic.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) { handled.Add(1) }, opts...); err != nil {
				t.Fatal(err)
			}
			batch := make([]plexo.Message, 100)
			for i := range batch {
				batch[i] = int64Arrival(t, 7, 0, 42)
			}
			seq := uint64(0)
			deliver := func() {
				for i := range batch {
					seq++
					batch[i].Sequence = seq
				}
				bh.DeliverBatch(batch)
				waitUntil(&handled, int64(seq))
			}
			deliver()
			if allocs := testing.AllocsPerRun(100, deliver); allocs > 100 {
				t.Fatalf("%v allocations per batch of 100 remote deliveries, want at most 100 (the messages)", allocs)
			}
		})
	}
}

// The overflow policies hold for a batch as for single messages: a
// subscription whose queue is full keeps the newest (by default) or the
// oldest messages of a batch, and counts the rest as dropped.
func TestDeliverBatchKeepsToTheOverflowPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy plexo.Overflow
		want   []int64
	}{
		{"drop oldest", plexo.OverflowDropOldest, []int64{0, 7, 8, 9}},
		{"drop newest", plexo.OverflowDropNewest, []int64{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			p := newPlexus(t)
			bh, _ := batchHost(t, p)
			release := make(chan struct{})
			started := make(chan struct{}, 1)
			c := newCollector[*wrapperspb.Int64Value]()
			sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
				if m.GetValue() == 0 {
					started <- struct{}{}
					<-release
				}
				c.Add(m)
			}, plexo.WithQueueSize(3), plexo.WithOverflow(tc.policy))
			if err != nil {
				t.Fatal(err)
			}
			bh.DeliverBatch([]plexo.Message{int64Arrival(t, 7, 100, 0)})
			<-started // the handler holds 0, and the queue is empty
			var batch []plexo.Message
			for v := int64(1); v <= 9; v++ {
				batch = append(batch, int64Arrival(t, 7, uint64(v), v))
			}
			bh.DeliverBatch(batch)
			close(release)
			want := tc.want
			if got := int64Values(c.WaitFor(t, len(want))); !slices.Equal(got, want) {
				t.Errorf("handled %v, want %v", got, want)
			}
			eventually(t, "the counters settle", func() bool {
				s := sub.Stats()
				return s.Delivered == uint64(len(want)) && s.Dropped == 10-uint64(len(want))
			})
		})
	}
}
