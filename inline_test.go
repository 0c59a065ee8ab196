package plexo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	basicv1 "github.com/plexo-go/plexo/internal/goldenpb/plexotest/basic/v1"
	"github.com/plexo-go/plexo/internal/plexotest"
)

func TestInlineHandlerRunsOnThePublishersGoroutineInOrder(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	var got []int64 // no lock: the handler runs inside Publish
	if _, err := int64Topic.Subscribe(ctx, p, func(_ context.Context, m *wrapperspb.Int64Value) {
		got = append(got, m.Value)
	}, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	for i := range int64(100) {
		publish(t, p, i)
		if len(got) != int(i)+1 || got[i] != i {
			t.Fatalf("after publishing %d the handler had seen %v", i, got)
		}
	}
}

func TestInlineAcrossBridgesDeliversOnceAndInOrderOnOnePath(t *testing.T) {
	for _, cycle := range []bool{false, true} {
		ctx := t.Context()
		pub, bridge, sub := newPlexus(t), newPlexus(t), newPlexus(t)
		connect(t, pub, bridge)
		connect(t, bridge, sub)
		paths := 1
		if cycle {
			connect(t, pub, sub) // duplicates must be dropped
			paths = 2
		}
		got := new(plexotest.Collector[int64])
		if _, err := int64Topic.Subscribe(ctx, sub, func(_ context.Context, m *wrapperspb.Int64Value) { got.Add(m.Value) }, plexo.WithInline()); err != nil {
			t.Fatal(err)
		}
		plexotest.Eventually(t, "interest over every path", func() bool {
			return pub.Stats().Topics[int64Topic.Name()].InterestedTransports == paths
		})
		const n = 200
		for i := range n {
			publish(t, pub, int64(i))
		}
		got.WaitFor(t, n)
		time.Sleep(50 * time.Millisecond) // a duplicate would come by now
		g := got.Snapshot()
		seen := make(map[int64]bool)
		for _, v := range g {
			if seen[v] {
				t.Fatalf("cycle %v: %d delivered twice", cycle, v)
			}
			seen[v] = true
		}
		if len(g) != n {
			t.Fatalf("cycle %v: received %d messages, want %d", cycle, len(g), n)
		}
		if cycle {
			continue // two paths: one may overtake the other (README, "Order")
		}
		for i := 1; i < len(g); i++ {
			if g[i] <= g[i-1] {
				t.Fatalf("out of order on one path at %d: %v", i, g[max(0, i-3):i+1])
			}
		}
	}
}

func TestInlineHandlerPanicIsRecoveredAndCounted(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t, plexo.WithLogger(discardLogger()))
	sub, err := int64Topic.Subscribe(ctx, p, func(_ context.Context, m *wrapperspb.Int64Value) {
		if m.Value == 1 {
			panic("boom")
		}
	}, plexo.WithInline())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1, 2, 3)
	if s := sub.Stats(); s.Panics != 1 || s.Delivered != 2 {
		t.Fatalf("stats %+v, want 1 panic and 2 delivered", s)
	}
}

func TestInlineCallsAreOneAtATime(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	var inside, overlaps atomic.Int32
	if _, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(10 * time.Microsecond)
		inside.Add(-1)
	}, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				_ = int64Topic.Publish(ctx, p, wrapperspb.Int64(int64(i)))
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d inline calls overlapped", n)
	}
}

// deliveryModes are the two ways a subscription can run its handler.
var deliveryModes = []struct {
	name string
	opts []plexo.SubscribeOption
}{{"queued", nil}, {"inline", []plexo.SubscribeOption{plexo.WithInline()}}}

func TestCloseFromInsideTheHandler(t *testing.T) {
	for _, tc := range deliveryModes {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			p := newPlexus(t)
			var sub *plexo.Subscription
			var calls atomic.Int32
			returned := make(chan struct{})
			var err error
			sub, err = int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) {
				if calls.Add(1) == 1 {
					_ = sub.Close() // returns at once, from inside
					close(returned)
				}
			}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			publish(t, p, 1)
			select {
			case <-returned:
			case <-time.After(plexotest.Timeout):
				t.Fatal("Close from inside the handler did not return")
			}
			publish(t, p, 2, 3)
			_ = sub.Close() // and again from outside, after
			time.Sleep(10 * time.Millisecond)
			if n := calls.Load(); n != 1 {
				t.Fatalf("handler called %d times, want 1: nothing after Close", n)
			}
			if st := p.Stats().Topics[int64Topic.Name()]; st.Subscriptions != 0 || st.Delivered != 1 {
				t.Fatalf("topic stats %+v, want no subscription and 1 delivered", st)
			}
		})
	}
}

func TestCloseFromOutsideWaitsForTheRunningCall(t *testing.T) {
	for _, tc := range deliveryModes {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			p := newPlexus(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var finished atomic.Bool
			sub, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) {
				close(entered)
				<-release
				finished.Store(true)
			}, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = int64Topic.Publish(ctx, p, wrapperspb.Int64(1)) }()
			<-entered
			closed := make(chan struct{})
			go func() { _ = sub.Close(); close(closed) }()
			select {
			case <-closed:
				t.Fatal("Close returned while the handler was running")
			case <-time.After(20 * time.Millisecond):
			}
			close(release)
			<-closed
			if !finished.Load() {
				t.Fatal("Close returned before the handler's call did")
			}
		})
	}
}

func TestInlineDeliveryDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ctx := t.Context()
	p := newPlexus(t)
	var n int
	if _, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { n++ }, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	msg := wrapperspb.Int64(1)
	if allocs := testing.AllocsPerRun(1000, func() { _ = int64Topic.Publish(ctx, p, msg) }); allocs != 0 {
		t.Fatalf("%v allocations per inline delivery, want 0", allocs)
	}
}

func TestGeneratedSubscribeTakesOptions(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	var got string // no lock: inline
	if _, err := basicv1.SubscribeReading(ctx, p, func(_ context.Context, r *basicv1.Reading) { got = r.GetId() }, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	if err := basicv1.PublishReading(ctx, p, &basicv1.Reading{Id: "inline"}); err != nil {
		t.Fatal(err)
	}
	if got != "inline" {
		t.Fatalf("inline handler saw %q after Publish returned", got)
	}
}
