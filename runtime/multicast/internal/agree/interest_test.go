package agree

import (
	"maps"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestInterestHops drives one node with HELLOs from two peers and checks
// what it reports: the smallest hop count over the live peers, a change of
// that minimum even when it stays non-zero, nothing when the minimum holds,
// out-of-range counts ignored, and a peer that missed its heartbeats no
// longer counting.
func TestInterestHops(t *testing.T) {
	const hb = time.Second
	const name = "brewery.v1.Temperature.proto"
	id := IDOf(name)
	n := New(Config{Self: 1, Size: 64, Control: 64, Heartbeat: hb, Expiry: time.Hour, Seed: 1})
	n.Tick(0)
	n.Events()

	hello := func(from uint64, hops uint8) *Msg {
		m := &Msg{Kind: KindHello, From: from, ViewSize: 3}
		if hops != 255 { // 255: the peer does not mention the topic
			m.Topics = []Topic{{ID: id, Name: name, Hops: hops}}
		}
		return m
	}
	interest := func() []int {
		var got []int
		for _, ev := range n.Events() {
			if ev.Kind == EventInterest {
				if ev.Name != name || ev.Topic != id {
					t.Errorf("event for %q (%x), want %q", ev.Name, ev.Topic, name)
				}
				got = append(got, ev.Hops)
			}
		}
		return got
	}

	steps := []struct {
		name string
		from uint64
		hops uint8
		want []int // hop counts reported, in order
	}{
		{"first peer three hops away", 2, 3, []int{3}},
		{"second peer's own handlers", 3, 1, []int{1}},
		{"second peer's subscriber moves behind a bridge", 3, 2, []int{2}},
		{"first peer farther: the minimum holds", 2, 5, nil},
		{"out-of-range count ignored", 2, MaxHops + 1, nil},
		{"first peer closer than the second", 2, 1, []int{1}},
		{"first peer only publishes", 2, 0, []int{2}},
		{"first peer back at three hops", 2, 3, nil},
	}
	now := time.Duration(0)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now += 10 * time.Millisecond
			n.Handle(now, hello(s.from, s.hops))
			if got := interest(); !slices.Equal(got, s.want) {
				t.Errorf("reported %v, want %v", got, s.want)
			}
		})
	}

	t.Run("second peer gone", func(t *testing.T) {
		// Peer 2 keeps its heartbeat; peer 3 (2 hops) falls silent.
		var got []int
		for end := now + (missedHeartbeats+2)*hb; now < end; {
			now += hb / 4
			n.Handle(now, hello(2, 3))
			n.Tick(now)
			got = append(got, interest()...)
		}
		if !slices.Equal(got, []int{3}) {
			t.Errorf("reported %v after peer 3 left, want [3]", got)
		}
	})
	t.Run("last peer stops subscribing", func(t *testing.T) {
		now += 10 * time.Millisecond
		n.Handle(now, hello(2, 255))
		if got := interest(); !slices.Equal(got, []int{0}) {
			t.Errorf("reported %v, want [0]", got)
		}
	})
}

// TestHelloCarriesHops checks a node's HELLO carries the hop count its
// transport gives, and that a change of count alone is told to peers early,
// not a heartbeat later.
func TestHelloCarriesHops(t *testing.T) {
	const hb = time.Second
	const name = "brewery.v1.Temperature.proto"
	id := IDOf(name)
	n := New(Config{Self: 1, Size: 64, Control: 64, Heartbeat: hb, Expiry: time.Hour, Seed: 1})
	n.Tick(0)
	n.Outbox()

	lastHello := func(end time.Duration) (Msg, time.Duration) {
		for now := n.now; now <= end; now += time.Millisecond {
			if now >= n.NextTick() {
				n.Tick(now)
				for _, m := range n.Outbox() {
					if m.Kind == KindHello {
						return m, now
					}
				}
			}
		}
		t.Fatalf("no HELLO by %v", end)
		return Msg{}, 0
	}
	for _, hops := range []uint8{1, 4, 2} {
		set := n.now + time.Millisecond
		n.SetInterest(set, Topic{ID: id, Name: name, Hops: hops}, true)
		m, at := lastHello(set + hb)
		if want := []Topic{{ID: id, Name: name, Hops: hops}}; !slices.Equal(m.Topics, want) {
			t.Errorf("HELLO topics %v, want %v", m.Topics, want)
		}
		if at-set > hb/10 {
			t.Errorf("hops %d told %v after the change, want within %v", hops, at-set, hb/10)
		}
	}
}

// TestNearestSubscribersMatchModel has peers send HELLOs mentioning random
// topics at random distances, out of range too, and go silent, and compares
// the nearest distance per topic the view counts with the one a walk over
// every peer's latest HELLO finds.
func TestNearestSubscribersMatchModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := newMembership()
		names := []string{"a.v1.A.proto", "b.v1.B.proto", ""}
		latest := make(map[uint64][]Topic) // the model: each live peer's topics
		for i := range rapid.IntRange(1, 50).Draw(rt, "steps") {
			from := uint64(rapid.IntRange(2, 5).Draw(rt, "from"))
			if rapid.IntRange(0, 5).Draw(rt, "silent") == 0 {
				v.forgetSilent(time.Duration(i+1), 0) // everyone heard before now
				clear(latest)
				continue
			}
			var ts []Topic
			for range rapid.IntRange(0, 3).Draw(rt, "topics") {
				name := rapid.SampledFrom(names).Draw(rt, "name")
				ts = append(ts, Topic{ID: IDOf(name), Name: name, Hops: uint8(rapid.IntRange(0, MaxHops+2).Draw(rt, "hops"))})
			}
			if _, ok := v.heard(time.Duration(i+1), &Msg{Kind: KindHello, From: from, Topics: ts}); !ok {
				rt.Fatal("HELLO not recorded")
			}
			latest[from] = ts

			want := make(map[string]int)
			for _, ts := range latest {
				for _, tp := range ts {
					if tp.Name != "" && tp.Hops >= 1 && tp.Hops <= MaxHops && (want[tp.Name] == 0 || int(tp.Hops) < want[tp.Name]) {
						want[tp.Name] = int(tp.Hops)
					}
				}
			}
			if got := v.nearestSubscribers(); !maps.Equal(got, want) {
				rt.Fatalf("nearest subscribers %v, want %v (peers' topics %v)", got, want, latest)
			}
		}
	})
}
