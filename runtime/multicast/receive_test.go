package multicast_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestReceiveAllocs checks the whole receive path over real sockets (the
// socket read, the frame checks, sequence bookkeeping, the hand-off to the
// Plexus and its decode into an inline handler): in steady state it
// allocates the decoded message and nothing else, one allocation for an
// Int64Value.
func TestReceiveAllocs(t *testing.T) {
	if multicast.RaceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	if !netns(t) {
		return
	}
	// Heartbeats every second: the HELLOs' own allocations stay out of
	// the count (they are below one per run over the ~1,000 runs).
	pub := newNode(t, multicast.WithHeartbeat(time.Second))
	sub := newNode(t, multicast.WithHeartbeat(time.Second))
	got := make(chan int64, 1)
	ctx := context.Background()
	if _, err := int64Topic.Subscribe(ctx, sub.p, func(_ context.Context, v *wrapperspb.Int64Value) { got <- v.GetValue() }, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	joined(sub.m)
	payload, err := proto.Marshal(wrapperspb.Int64(1 << 40))
	if err != nil {
		t.Fatal(err)
	}
	msg := &plexo.Message{Topic: int64Topic.Name(), Payload: payload, Origin: 1}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failed := false
	roundTrip := func() {
		if failed {
			return
		}
		msg.Sequence++
		if err := pub.m.Send(ctx, msg); err != nil {
			t.Error(err)
			failed = true
			return
		}
		timer.Reset(2 * time.Second)
		select {
		case v := <-got:
			if v != 1<<40 {
				t.Errorf("delivered %d, want %d", v, int64(1<<40))
				failed = true
			}
		case <-timer.C:
			t.Errorf("message %d not delivered in 2 s", msg.Sequence)
			failed = true
		}
	}
	for range 200 { // warm up: the sender's state, the Plexus's route
		roundTrip()
	}
	allocs := testing.AllocsPerRun(1000, roundTrip)
	if failed {
		t.FailNow()
	}
	if allocs != 1 {
		t.Fatalf("%v allocations per message received, want 1 (the decoded message)", allocs)
	}
}

// TestLargerPeerMTU checks a receiver whose MTU is smaller than its
// peer's: it reads datagrams several at a time in slots of its own MTU, so
// the first larger datagrams are truncated (counted), asked for again and
// resent, and every message arrives once.
func TestLargerPeerMTU(t *testing.T) {
	if !netns(t) {
		return
	}
	pub, sub := newNode(t, multicast.WithMTU(8000)), newNode(t)
	got := subscribe(t, sub, bytesTopic)
	ctx := context.Background()
	// The large messages come first, before the receiver has followed any
	// of the sender's sequence, and a small one may overtake their resends.
	sizes := []int{6000, 6000, 6000, 6000, 10}
	for i, size := range sizes {
		b, err := proto.Marshal(wrapperspb.Bytes(bytes.Repeat([]byte{byte(i)}, size)))
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.m.Send(ctx, &plexo.Message{Topic: bytesTopic.Name(), Payload: b, Origin: pub.p.ID(), Sequence: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	vals := got.wait(len(sizes), 5*time.Second)
	seen := map[byte]bool{}
	for _, v := range vals {
		i := v.GetValue()[0]
		if int(i) >= len(sizes) || len(v.GetValue()) != sizes[i] {
			t.Fatalf("delivered %d bytes of %d", len(v.GetValue()), i)
		}
		seen[i] = true
	}
	if len(vals) != len(sizes) || len(seen) != len(sizes) {
		t.Fatalf("delivered %d messages, %d distinct; want %d", len(vals), len(seen), len(sizes))
	}
	s := sub.m.Stats()
	if s.Truncated == 0 || s.NAKsSent < s.Truncated || s.BadFrames != 0 {
		t.Fatalf("Truncated %d, NAKsSent %d, BadFrames %d; want some truncated, each asked for again, none bad",
			s.Truncated, s.NAKsSent, s.BadFrames)
	}
	if got.wait(len(sizes)+1, 100*time.Millisecond); len(got.values()) != len(sizes) {
		t.Fatalf("%d messages delivered, want %d once each", len(got.values()), len(sizes))
	}
}
