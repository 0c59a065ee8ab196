package interest

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func TestClamp(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, 0}, {0, 0}, {1, 1}, {MaxHops, MaxHops}, {MaxHops + 1, 0}, {1 << 40, 0},
	} {
		if got := Clamp(tc.in); got != tc.want {
			t.Errorf("Clamp(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestThrough(t *testing.T) {
	for _, tc := range []struct {
		name               string
		local, other, want int
	}{
		{"nobody", 0, 0, 0},
		{"local only", 1, 0, 1},
		{"local beats other", 1, 1, 1},
		{"other only", 0, 3, 4},
		{"advertised farther than other", 9, 3, 4},
		{"advertised nearer than other", 2, 3, 2},
		{"other at the horizon", 0, MaxHops, 0},
		{"other just inside", 0, MaxHops - 1, MaxHops},
		{"advertised out of range", MaxHops + 1, 0, 0},
		{"other out of range", 0, MaxHops + 5, 0},
		{"negative", -3, -2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Through(tc.local, tc.other); got != tc.want {
				t.Errorf("Through(%d, %d) = %d, want %d", tc.local, tc.other, got, tc.want)
			}
		})
	}
}

// model is the rule written the obvious way, over every link: what a node
// with local distance local tells link l, given every link's report.
func model(reports map[int]int, local, l int) int {
	hops := 0
	if local >= 1 && local <= MaxHops {
		hops = local
	}
	for other, h := range reports {
		if other == l || h < 1 || h > MaxHops {
			continue
		}
		if hops == 0 || h+1 < hops {
			hops = h + 1
		}
	}
	if hops > MaxHops {
		return 0
	}
	return hops
}

func modelNearest(reports map[int]int) int {
	n := 0
	for _, h := range reports {
		if h >= 1 && h <= MaxHops && (n == 0 || h < n) {
			n = h
		}
	}
	return n
}

// TestCountsMatchModel sets and withdraws reports over several links and
// topics at random, reports included that lie out of range, and compares
// every value told to every link, and every nearest distance, with the
// model's.
func TestCountsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nLinks := rapid.IntRange(1, 6).Draw(t, "links")
		nTopics := rapid.IntRange(1, 3).Draw(t, "topics")
		hops := rapid.OneOf(
			rapid.IntRange(0, 4),                                        // crowded near distances: ties and runners-up
			rapid.IntRange(-2, MaxHops+2),                               // anything, out of range too
			rapid.SampledFrom([]int{MaxHops - 1, MaxHops, MaxHops + 1}), // the horizon
		)
		reports := make([]map[int]int, nTopics) // per topic, link -> raw report
		counts := make([]Counts, nTopics)
		for i := range reports {
			reports[i] = make(map[int]int)
		}
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			topic := rapid.IntRange(0, nTopics-1).Draw(t, "topic")
			l := rapid.IntRange(0, nLinks-1).Draw(t, "link")
			h := 0 // withdraw
			if rapid.IntRange(0, 3).Draw(t, "set") > 0 {
				h = hops.Draw(t, "hops")
			}
			counts[topic].Move(reports[topic][l], h)
			if h == 0 {
				delete(reports[topic], l)
			} else {
				reports[topic][l] = h
			}

			for i := range counts {
				c := &counts[i]
				if got, want := c.Nearest(), modelNearest(reports[i]); got != want {
					t.Fatalf("topic %d: Nearest() = %d, want %d (reports %v)", i, got, want, reports[i])
				}
				if got, want := c.Horizon().Nearest(), modelNearest(reports[i]); got != want {
					t.Fatalf("topic %d: Horizon().Nearest() = %d, want %d (reports %v)", i, got, want, reports[i])
				}
				valid := 0
				for _, h := range reports[i] {
					if Clamp(h) > 0 {
						valid++
					}
				}
				if c.Len() != valid {
					t.Fatalf("topic %d: Len() = %d, want %d (reports %v)", i, c.Len(), valid, reports[i])
				}
				z := c.Horizon()
				for _, local := range []int{0, 1, 2, 5, MaxHops, MaxHops + 1} {
					for l := range nLinks {
						want := model(reports[i], local, l)
						if got := c.Advertise(local, reports[i][l]); got != want {
							t.Fatalf("topic %d, local %d: Advertise to link %d = %d, want %d (reports %v)", i, local, l, got, want, reports[i])
						}
						if got := z.Advertise(local, reports[i][l]); got != want {
							t.Fatalf("topic %d, local %d: Horizon.Advertise to link %d = %d, want %d (reports %v)", i, local, l, got, want, reports[i])
						}
					}
				}
			}
		}
	})
}

func TestCountsZero(t *testing.T) {
	var c Counts
	if c.Len() != 0 || c.Nearest() != 0 || c.Advertise(0, 0) != 0 || c.Advertise(1, 0) != 1 {
		t.Errorf("zero Counts: Len %d, Nearest %d, Advertise(0,0) %d, Advertise(1,0) %d; want 0, 0, 0, 1",
			c.Len(), c.Nearest(), c.Advertise(0, 0), c.Advertise(1, 0))
	}
	c.Move(0, 3)
	c.Move(3, 0)
	if c != (Counts{}) {
		t.Errorf("set and withdrawn: %+v, want the zero Counts", c)
	}
}

// BenchmarkAdvertise measures one value told to one link, with the nearest
// subscriber at the horizon (the longest walk), over ever more links: the
// time stays flat, O(MaxHops), not O(links).
func BenchmarkAdvertise(b *testing.B) {
	for _, links := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("links=%d", links), func(b *testing.B) {
			var c Counts
			for range links {
				c.Move(0, MaxHops)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if c.Advertise(0, MaxHops) != 0 {
					b.Fatal("told a distance beyond the horizon")
				}
			}
		})
	}
}
