package agree

import (
	"testing"
	"time"
)

// TestLoneRelocationReported checks that a node alone in its view, which
// decides a relocation inside the SetInterest call that made its topic
// collide (it is its own quorum), reports the move as an event: the
// transport read the topic's group before the call and acts on events only.
func TestLoneRelocationReported(t *testing.T) {
	const size = 16
	names := collidingNames(2, size, size)
	low, high := Topic{ID: IDOf(names[0]), Name: names[0], Hops: 1}, Topic{ID: IDOf(names[1]), Name: names[1], Hops: 1}
	if high.ID < low.ID {
		low, high = high, low
	}
	n := New(Config{Self: 7, Size: size, Control: size, Heartbeat: 100 * time.Millisecond, Seed: 1})
	n.Tick(0)
	n.SetInterest(0, low, true)
	now := time.Second // past the start-up grace
	n.Tick(now)
	n.Events()
	home := n.Group(high.ID)
	n.SetInterest(now, high, true)
	moved := n.Group(high.ID)
	if moved == home {
		t.Fatalf("the lone node did not relocate the colliding topic off group %d", home)
	}
	var got []Event
	for _, ev := range n.Events() {
		if ev.Kind == EventGroup {
			got = append(got, ev)
		}
	}
	if want := (Event{Kind: EventGroup, Topic: high.ID, Group: moved, Old: home}); len(got) != 1 || got[0] != want {
		t.Fatalf("group events %+v, want one %+v", got, want)
	}
}
