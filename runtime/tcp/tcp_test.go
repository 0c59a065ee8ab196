package tcp_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/tcp"
)

func TestTypedDeliveryBothWays(t *testing.T) {
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(network, func(t *testing.T) {
			a, b := newPlexus(t), newPlexus(t)
			l, err := tcp.Listen(timeout(t), network, fast...)
			if err != nil {
				t.Skipf("cannot listen on %s: %v", network, err)
			}
			if err := a.Attach(l); err != nil {
				t.Fatal(err)
			}
			dial(t, b, l)
			plexotest.ExchangeBothWays(t, stringTopic, a, b)
		})
	}
}

func TestNothingIsSentForUnwantedTopics(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	d := dial(t, b, l)
	publish(t, a, 1, 2, 3) // nobody wants it yet
	c := subscribeInt64(t, b)
	waitForInterest(t, a, int64Topic.Name())
	publish(t, a, 4, 5)
	if got := c.WaitFor(t, 2); !slices.Equal(got, []int64{4, 5}) {
		t.Fatalf("received %v, want [4 5]", got)
	}
	eventually(t, "the listener counts what it sent", func() bool { return l.Stats().Sent >= 2 })
	if s := l.Stats(); s.Sent != 2 {
		t.Fatalf("listener sent %d messages, want 2 (only those published after the peer subscribed)", s.Sent)
	}
	if s := d.Stats(); len(s.Peers) != 1 || !slices.Equal(s.Peers[0].Topics, nil) {
		t.Fatalf("dialer's peer wants %v, want nothing", s.Peers)
	}
	if s := l.Stats(); len(s.Peers) != 1 || !slices.Equal(s.Peers[0].Topics, []string{int64Topic.Name()}) || s.Peers[0].ID != b.ID() {
		t.Fatalf("listener sees peers %+v, want b wanting %s", s.Peers, int64Topic.Name())
	}
}

func TestLineAndTriangleDeliverExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		triangle bool
	}{{"line", false}, {"triangle", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ps := []*plexo.Plexus{newPlexus(t), newPlexus(t), newPlexus(t)}
			// A–B, B–C, and C–A for the triangle.
			lb := listen(t, ps[1])
			dial(t, ps[0], lb)
			lc := listen(t, ps[2])
			dial(t, ps[1], lc)
			if tc.triangle {
				la := listen(t, ps[0])
				dial(t, ps[2], la)
			}
			cs := make([]*collector[int64], len(ps))
			for i, p := range ps {
				cs[i] = subscribeInt64(t, p)
			}
			// Every link of every Plexus must carry the interest before
			// publishing, or the first messages take fewer paths.
			links := []int{1, 2, 1}
			if tc.triangle {
				links = []int{2, 2, 2}
			}
			eventually(t, "interest crosses every link", func() bool {
				for i, p := range ps {
					if p.Stats().Topics[int64Topic.Name()].InterestedTransports != links[i] {
						return false
					}
				}
				return true
			})
			const per = 100
			for i, p := range ps {
				publish(t, p, seq(int64(i*1000), per)...)
			}
			want := len(ps) * per
			for i, c := range cs {
				c.WaitFor(t, want)
				eventually(t, "traffic settles", func() bool { return quiet(ps...) })
				got := c.Snapshot()
				if len(got) != want {
					t.Fatalf("subscriber %d received %d messages, want exactly %d", i, len(got), want)
				}
				slices.Sort(got)
				for j := 1; j < len(got); j++ {
					if got[j] == got[j-1] {
						t.Fatalf("subscriber %d received %d twice", i, got[j])
					}
				}
			}
		})
	}
}

func TestPeersOfOneListenerReachEachOther(t *testing.T) {
	a, b, c := newPlexus(t), newPlexus(t), newPlexus(t)
	l := listen(t, a)
	dial(t, b, l)
	dial(t, c, l)
	atC := subscribeInt64(t, c)
	waitForInterest(t, b, int64Topic.Name()) // C's interest reached B through A
	publish(t, b, seq(0, 50)...)
	if got := atC.WaitFor(t, 50); !slices.Equal(got, seq(0, 50)) {
		t.Fatalf("C received %v, want 0..49 in order", got)
	}
	if s := a.Stats().Topics[int64Topic.Name()]; s.Received != 50 || s.Forwarded != 50 || s.DecodeErrors != 0 {
		t.Fatalf("A's stats %+v, want 50 received and forwarded", s)
	}
	// B is never sent its own messages back.
	for _, p := range l.Stats().Peers {
		if p.ID == b.ID() && p.Sent != 0 {
			t.Fatalf("A sent %d messages back to B", p.Sent)
		}
	}
}

func TestDepartedPeerWithdrawsInterest(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	d := dial(t, b, l)
	subscribeInt64(t, b)
	waitForInterest(t, a, int64Topic.Name())
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "interest is withdrawn", func() bool {
		return a.Stats().Topics[int64Topic.Name()].InterestedTransports == 0 && len(l.Stats().Peers) == 0
	})
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestInterestDiesOutInACycle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links []int // transports of each node, all of which end up interested
		build func(ps []*plexo.Plexus)
	}{
		{"ring of three", []int{2, 2, 2}, func(ps []*plexo.Plexus) {
			// A dials B, B dials C, C dials A.
			lb, lc, la := listen(t, ps[1]), listen(t, ps[2]), listen(t, ps[0])
			dial(t, ps[0], lb)
			dial(t, ps[1], lc)
			dial(t, ps[2], la)
		}},
		{"star closed into a cycle", []int{1, 2, 2}, func(ps []*plexo.Plexus) {
			// B and C dial listener A, and C dials B: the cycle runs
			// through A's forwarding between its own peers too.
			la := listen(t, ps[0])
			dial(t, ps[1], la)
			dial(t, ps[2], la)
			dial(t, ps[2], listen(t, ps[1]))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := []*plexo.Plexus{newPlexus(t), newPlexus(t), newPlexus(t)}
			tc.build(ps)
			sub, err := int64Topic.Subscribe(t.Context(), ps[2], func(context.Context, *wrapperspb.Int64Value) {})
			if err != nil {
				t.Fatal(err)
			}
			// Let interest go all the way around, so that every link
			// carries it, before the subscriber leaves.
			eventually(t, "interest reaches every link", func() bool {
				for i, p := range ps {
					if p.Stats().Topics[int64Topic.Name()].InterestedTransports != tc.links[i] {
						return false
					}
				}
				return true
			})
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

func TestOrderAcrossDirectAndQueuedSends(t *testing.T) {
	// Messages after a pause go to the socket from Send, those in a burst
	// through the writer, and large ones always through the writer: the
	// peer receives them all, intact and in order.
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	dial(t, b, l)
	got := newCollector[string]()
	if _, err := stringTopic.Subscribe(t.Context(), b, func(_ context.Context, m *wrapperspb.StringValue) { got.Add(m.Value) }); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, a, stringTopic.Name())
	var want []string
	for i := range 300 {
		size := []int{1, 100, 5000, 70 << 10}[i%4]
		v := fmt.Sprintf("%d:%s", i, strings.Repeat(string(rune('a'+i%26)), size))
		want = append(want, v)
		if err := stringTopic.Publish(t.Context(), a, wrapperspb.String(v)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			time.Sleep(50 * time.Microsecond) // a quiet spell
		}
	}
	if g := got.WaitFor(t, len(want)); !slices.Equal(g, want) {
		t.Fatalf("received %d messages, not the %d published in order", len(g), len(want))
	}
}
