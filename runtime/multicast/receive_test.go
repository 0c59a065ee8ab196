package multicast_test

import (
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
