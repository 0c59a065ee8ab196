package plexo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/pipe"
)

// countingCodec is the proto codec, counting its calls.
type countingCodec struct {
	plexo.Codec
	marshals, unmarshals atomic.Int64
}

func newCountingCodec() *countingCodec { return &countingCodec{Codec: plexo.ProtoCodec()} }

func (c *countingCodec) Marshal(b []byte, m proto.Message) ([]byte, error) {
	c.marshals.Add(1)
	return c.Codec.Marshal(b, m)
}

func (c *countingCodec) Unmarshal(data []byte, m proto.Message) error {
	c.unmarshals.Add(1)
	return c.Codec.Unmarshal(data, m)
}

// connect joins two Plexus values with a pipe and returns its ends.
func connect(t *testing.T, a, b *plexo.Plexus) (*pipe.Transport, *pipe.Transport) {
	t.Helper()
	ea, eb := pipe.New()
	if err := a.Attach(ea); err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(eb); err != nil {
		t.Fatal(err)
	}
	return ea, eb
}

var waitForInterest = plexotest.WaitForInterest

func TestMessagesCrossOnlyWhereWanted(t *testing.T) {
	ctx := t.Context()
	pub, sub := newPlexus(t), newPlexus(t)
	toSub, _ := connect(t, pub, sub)

	// Nobody on sub wants the topic: nothing crosses.
	publish(t, pub, 1)
	if s := toSub.Stats(); s.Sent != 0 {
		t.Fatalf("sent %d messages to a peer with no interest", s.Sent)
	}

	c := newCollector[int64]()
	s, err := int64Topic.Subscribe(ctx, sub, func(ctx context.Context, m *wrapperspb.Int64Value) { c.Handle(ctx, m.Value) })
	if err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, pub, int64Topic.Name())
	publish(t, pub, 2, 3)
	if got := c.WaitFor(t, 2); !equal(got, []int64{2, 3}) {
		t.Fatalf("received %v, want [2 3]", got)
	}

	// After the last unsubscribe, interest is withdrawn and nothing crosses.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "interest is withdrawn", func() bool { return pub.Stats().Topics[int64Topic.Name()].InterestedTransports == 0 })
	before := toSub.Stats().Sent
	publish(t, pub, 4)
	if after := toSub.Stats().Sent; after != before {
		t.Fatalf("sent %d messages after the peer unsubscribed", after-before)
	}
}

func TestTypedDeliveryBothWays(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	connect(t, a, b)
	plexotest.ExchangeBothWays(t, stringTopic, a, b)
}

func TestEncodeOnceDecodeOncePerPlexus(t *testing.T) {
	ctx := t.Context()
	codec := newCountingCodec()
	topic := plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Counted.proto", plexo.WithCodec(codec))

	pub := newPlexus(t)
	receivers := []*plexo.Plexus{newPlexus(t), newPlexus(t)}
	var total atomic.Int64
	for _, r := range receivers {
		connect(t, pub, r)
		for range 3 { // several handlers share one decode
			if _, err := topic.Subscribe(ctx, r, func(context.Context, *wrapperspb.Int64Value) { total.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "both receivers' interest arrives", func() bool {
		return pub.Stats().Topics[topic.Name()].InterestedTransports == 2
	})
	const n = 10
	for i := range n {
		if err := topic.Publish(ctx, pub, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every handler ran", func() bool { return total.Load() == n*2*3 })
	if got := codec.marshals.Load(); got != n {
		t.Errorf("encoded %d times for %d messages to 2 transports, want %d", got, n, n)
	}
	if got := codec.unmarshals.Load(); got != n*2 {
		t.Errorf("decoded %d times for %d messages at 2 Plexus values with 3 handlers each, want %d", got, n, n*2)
	}
}

func TestBridgeForwardsWithoutDecodingAndNeverBack(t *testing.T) {
	ctx := t.Context()
	codec := newCountingCodec()
	topic := plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Bridged.proto", plexo.WithCodec(codec))
	left, bridge, right := newPlexus(t), newPlexus(t), newPlexus(t)
	_, bridgeToLeft := connect(t, left, bridge)
	connect(t, bridge, right)

	c := newCollector[int64]()
	if _, err := topic.Subscribe(ctx, right, func(ctx context.Context, m *wrapperspb.Int64Value) { c.Handle(ctx, m.Value) }); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, left, topic.Name()) // right's interest crossed the bridge
	for i := range 5 {
		if err := topic.Publish(ctx, left, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.WaitFor(t, 5); !equal(got, []int64{0, 1, 2, 3, 4}) {
		t.Fatalf("received %v across the bridge, want [0 1 2 3 4]", got)
	}
	if got := codec.unmarshals.Load(); got != 5 {
		t.Errorf("decoded %d times, want 5 (only at the subscriber, never at the bridge)", got)
	}
	if s := bridge.Stats().Topics[topic.Name()]; s.Received != 5 || s.Forwarded != 5 {
		t.Errorf("bridge stats %+v, want 5 received and 5 forwarded", s)
	}
	if s := bridgeToLeft.Stats(); s.Sent != 0 {
		t.Errorf("the bridge sent %d messages back where they came from", s.Sent)
	}
}

func TestRingDeliversExactlyOnce(t *testing.T) {
	ctx := t.Context()
	ps := []*plexo.Plexus{newPlexus(t), newPlexus(t), newPlexus(t)}
	connect(t, ps[0], ps[1])
	connect(t, ps[1], ps[2])
	connect(t, ps[2], ps[0])

	cs := make([]*collector[int64], len(ps))
	for i, p := range ps {
		c := newCollector[int64]()
		cs[i] = c
		if _, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) { c.Handle(ctx, m.Value) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		eventually(t, "both neighbours' interest arrives", func() bool {
			return p.Stats().Topics[int64Topic.Name()].InterestedTransports == 2
		})
	}
	const perPublisher = 50
	for i, p := range ps {
		for j := range perPublisher {
			publish(t, p, int64(i*1000+j))
		}
	}
	want := len(ps) * perPublisher
	for i, c := range cs {
		c.WaitFor(t, want)
		eventually(t, "duplicates stop arriving", func() bool { return ringQuiet(ps) })
		got := c.Snapshot()
		if len(got) != want {
			t.Fatalf("subscriber %d received %d messages, want exactly %d", i, len(got), want)
		}
		seen := make(map[int64]bool)
		for _, v := range got {
			if seen[v] {
				t.Fatalf("subscriber %d received %d twice", i, v)
			}
			seen[v] = true
		}
	}
	// Order is not checked: with two paths from each publisher, a copy on
	// the longer path may overtake the next message on the shorter one.
	var dups uint64
	for _, p := range ps {
		dups += p.Stats().Duplicates
	}
	if dups == 0 {
		t.Error("no duplicate was suppressed: the ring did not exercise deduplication")
	}
}

// ringQuiet reports whether the Plexus values' receive counters stopped
// moving for a few milliseconds.
func ringQuiet(ps []*plexo.Plexus) bool {
	sum := func() (n uint64) {
		for _, p := range ps {
			n += p.Stats().Duplicates
			for _, s := range p.Stats().Topics {
				n += s.Received
			}
		}
		return n
	}
	before := sum()
	time.Sleep(20 * time.Millisecond)
	return sum() == before
}

func TestInterestDiesOutInCycles(t *testing.T) {
	for _, size := range []int{3, 4, 5} {
		t.Run(fmt.Sprintf("ring of %d", size), func(t *testing.T) {
			ps := make([]*plexo.Plexus, size)
			for i := range ps {
				ps[i] = newPlexus(t)
			}
			for i := range ps {
				connect(t, ps[i], ps[(i+1)%size])
			}
			sub, err := int64Topic.Subscribe(t.Context(), ps[0], func(context.Context, *wrapperspb.Int64Value) {})
			if err != nil {
				t.Fatal(err)
			}
			// Let interest go all the way around, so that every link
			// carries it, before the subscriber leaves.
			for _, p := range ps {
				eventually(t, "interest reaches every link", func() bool {
					return p.Stats().Topics[int64Topic.Name()].InterestedTransports == 2
				})
			}
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
			for i, p := range ps {
				eventually(t, fmt.Sprintf("interest at node %d dies out", i), func() bool {
					return p.Stats().Topics[int64Topic.Name()].InterestedTransports == 0
				})
			}
		})
	}
}
