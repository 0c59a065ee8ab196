package plexo_test

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

func TestHandlerGoesOnWithTheRestOfItsBatchAfterAPanic(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t, plexo.WithLogger(discardLogger()))
	g := newGate()
	c := newCollector[int64]()
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		switch m.Value {
		case 1:
			g.entered <- struct{}{}
			<-g.open
		case 3, 5:
			panic("sensor on fire")
		}
		c.Handle(ctx, m.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1)
	<-g.entered
	// 2..7 wait in the ring and are taken in one batch when 1 returns.
	publish(t, p, 2, 3, 4, 5, 6, 7)
	close(g.open)
	if got := c.WaitFor(t, 5); !equal(got, []int64{1, 2, 4, 6, 7}) {
		t.Errorf("handled %v, want [1 2 4 6 7]", got)
	}
	eventually(t, "the counters settle", func() bool { return sub.Stats().Delivered == 5 })
	if s := sub.Stats(); s.Panics != 2 || s.Dropped != 0 {
		t.Errorf("Stats = %+v, want 2 panics and nothing dropped", s)
	}
}

func TestQueuedCountsWhatTheHandlerHasNotSeen(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	g := newGate()
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		if m.Value == 1 {
			g.entered <- struct{}{}
			<-g.open
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1)
	<-g.entered
	publish(t, p, 2, 3, 4)
	if q := sub.Stats().Queued; q != 3 {
		t.Errorf("Queued = %d while the handler holds message 1, want 3", q)
	}
	close(g.open)
	eventually(t, "the queue drains", func() bool { s := sub.Stats(); return s.Queued == 0 && s.Delivered == 4 })
}

func TestCloseDropsAndCountsWhatIsQueued(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	g := newGate()
	var handled atomic.Int64
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		handled.Add(1)
		if m.Value == 1 {
			g.entered <- struct{}{}
			<-ctx.Done()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1)
	<-g.entered
	publish(t, p, 2, 3, 4, 5)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1", n)
	}
	if s := sub.Stats(); s.Dropped != 4 || s.Delivered != 1 || s.Queued != 0 {
		t.Errorf("Stats after Close = %+v, want 4 dropped, 1 delivered, none queued", s)
	}
}

// TestQueuedDeliveryDoesNotAllocate asserts that publishing to a
// subscription with its own goroutine, and that goroutine's taking and
// handling, allocate nothing once running.
func TestQueuedDeliveryDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ctx := t.Context()
	p := newPlexus(t)
	var handled atomic.Int64
	if _, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { handled.Add(1) },
		plexo.WithOverflow(plexo.OverflowBlock)); err != nil {
		t.Fatal(err)
	}
	msg := wrapperspb.Int64(1)
	var want int64
	publishAndWait := func() {
		for range 100 {
			_ = int64Topic.Publish(ctx, p, msg)
		}
		want += 100
		waitUntil(&handled, want)
	}
	publishAndWait() // the handler's batch reaches its size
	if allocs := testing.AllocsPerRun(100, publishAndWait); allocs != 0 {
		t.Fatalf("%v allocations per 100 queued deliveries, want 0", allocs)
	}
}

// TestRemoteDeliveryAllocatesOnlyTheMessage asserts that a message arriving
// through a transport costs one allocation, the decoded message, whether
// its subscription is inline or not.
func TestRemoteDeliveryAllocatesOnlyTheMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, inline := range []bool{false, true} {
		name := "queued"
		var opts []plexo.SubscribeOption
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
			var handled atomic.Int64
			opts := append(opts, plexo.WithOverflow(plexo.OverflowBlock))
			if _, err := int64Topic.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) { handled.Add(1) }, opts...); err != nil {
				t.Fatal(err)
			}
			payload, err := plexo.ProtoCodec().Marshal(nil, wrapperspb.Int64(42))
			if err != nil {
				t.Fatal(err)
			}
			msg := plexo.Message{Topic: int64Topic.Name(), Payload: payload, Origin: 7}
			deliver := func() {
				for range 100 {
					msg.Sequence++
					tr.host.Deliver(&msg)
				}
				waitUntil(&handled, int64(msg.Sequence))
			}
			deliver()
			if allocs := testing.AllocsPerRun(100, deliver); allocs > 100 {
				t.Fatalf("%v allocations per 100 remote deliveries, want at most 100 (the messages)", allocs)
			}
		})
	}
}
