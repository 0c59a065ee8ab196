package multicast_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

// smallRange is a range of 16 data groups (the control group lies outside
// it), so that test topics collide easily.
var smallRange = netip.MustParsePrefix("239.255.1.0/28")

// collidingIn returns two topic names with one home group in a range of
// size groups whose control group lies outside it, the smaller id first.
func collidingIn(size uint32) (low, high string) {
	seen := make(map[uint32]string)
	for i := 0; ; i++ {
		name := fmt.Sprintf("test.v1.L%d.proto", i)
		g := agree.Home(agree.IDOf(name), size, size)
		if other, ok := seen[g]; ok {
			if agree.IDOf(other) < agree.IDOf(name) {
				return other, name
			}
			return name, other
		}
		seen[g] = name
	}
}

// TestLoneRelocation checks a relocation that a node alone in its view
// decides at once, inside the call that made a topic collide (it is its own
// quorum): its transport must then send, or listen, on the topic's new
// group, where a node arriving later looks for it.
func TestLoneRelocation(t *testing.T) {
	if !netns(t) {
		return
	}
	const hb = 100 * time.Millisecond
	lowName, highName := collidingIn(16)
	low := plexo.NewTopic[*wrapperspb.Int64Value](lowName)
	high := plexo.NewTopic[*wrapperspb.Int64Value](highName)
	opts := []multicast.Option{multicast.WithGroupRange(smallRange), multicast.WithHeartbeat(hb)}
	ctx := context.Background()

	// alone starts a node by itself, makes it use the low topic, waits out
	// the start-up grace (during which nodes do not relocate), and makes it
	// use the high one by use(high): the node relocates it on the spot.
	alone := func(t *testing.T, use func(n node, topic plexo.Topic[*wrapperspb.Int64Value])) node {
		a := newNode(t, opts...)
		home := a.m.Group(highName)
		use(a, low)
		time.Sleep(5 * hb)
		use(a, high)
		if a.m.Group(highName) == home || a.m.Stats().Assignments != 1 {
			t.Fatalf("the lone node did not relocate %s off %s (now on %s)", highName, home, a.m.Group(highName))
		}
		return a
	}
	// joiner starts a second node and waits until it learned the
	// relocation from the first.
	joiner := func(t *testing.T, a node) node {
		b := newNode(t, opts...)
		if !waitFor(5*time.Second, func() bool { return b.m.Group(highName) == a.m.Group(highName) }) {
			t.Fatalf("the second node never learned the relocation: %s, want %s", b.m.Group(highName), a.m.Group(highName))
		}
		return b
	}
	// deliver publishes on from until got has a message.
	deliver := func(t *testing.T, from node, got *collector[*wrapperspb.Int64Value], to node) {
		for i := range 100 {
			if err := high.Publish(ctx, from.p, wrapperspb.Int64(int64(i))); err != nil {
				t.Fatal(err)
			}
			if len(got.wait(1, 50*time.Millisecond)) > 0 {
				return
			}
		}
		t.Fatalf("nothing delivered on %s (sender's stats %+v, receiver's %+v)", from.m.Group(highName), from.m.Stats(), to.m.Stats())
	}

	t.Run("publisher", func(t *testing.T) {
		a := alone(t, func(n node, topic plexo.Topic[*wrapperspb.Int64Value]) {
			if err := topic.Publish(ctx, n.p, wrapperspb.Int64(0)); err != nil {
				t.Fatal(err)
			}
		})
		b := joiner(t, a)
		got := subscribe(t, b, high)
		deliver(t, a, got, b)
	})
	t.Run("subscriber", func(t *testing.T) {
		var got *collector[*wrapperspb.Int64Value]
		a := alone(t, func(n node, topic plexo.Topic[*wrapperspb.Int64Value]) {
			c := subscribe(t, n, topic)
			if topic.Name() == highName {
				got = c
			}
		})
		b := joiner(t, a)
		deliver(t, b, got, a)
	})
}

// TestTwoSocketsOfOneStreamKeepItsOrder stands for a topic relocating: for
// a grace period its messages come on two groups, each read by a goroutine
// of its own. A later message of the same sender and topic must not be
// admitted on one socket while an earlier one, admitted on the other, is
// still on its way to delivery: it would overtake it. TestCollision
// delivered 77 before 76 that way, under load.
func TestTwoSocketsOfOneStreamKeepItsOrder(t *testing.T) {
	if !netns(t) {
		return
	}
	sub := newNode(t)
	subscribe(t, sub, int64Topic)
	first, _ := multicast.ForgeData(sub.m, 1000, int64Topic.Name(), 1, nil)
	second, _ := multicast.ForgeData(sub.m, 1000, int64Topic.Name(), 2, nil)
	if first == nil || second == nil {
		t.Fatal("cannot forge a datagram")
	}
	ok, release1 := multicast.Admit(sub.m, first)
	if !ok {
		t.Fatal("message 1 not admitted")
	}
	type admitted struct {
		ok      bool
		release func()
	}
	next := make(chan admitted, 1)
	go func() {
		ok, release := multicast.Admit(sub.m, second)
		next <- admitted{ok, release}
	}()
	select {
	case a := <-next:
		release1()
		a.release()
		t.Fatal("message 2 was admitted on another socket while message 1 was still being delivered")
	case <-time.After(100 * time.Millisecond):
	}
	release1()
	a := <-next
	if !a.ok {
		t.Fatal("message 2 not admitted once message 1 was delivered")
	}
	a.release()
}
