package plexo

import (
	"testing"

	"pgregory.net/rapid"
)

func TestDedupAdmitsEachMessageOnce(t *testing.T) {
	d := newDedup(16)
	for _, c := range []struct {
		origin, seq uint64
		want        bool
	}{
		{1, 10, true},
		{1, 10, false},
		{1, 11, true},
		{1, 9, true}, // late but within the window
		{1, 9, false},
		{2, 10, true}, // another origin
		{1, 11 + dedupWindow, true},
		{1, 11, false},                      // now beyond the window: dropped
		{1, 12 + dedupWindow + 5000, true},  // a jump clears the window
		{1, 12 + dedupWindow + 4999, true},  // not seen before the jump
		{1, 12 + dedupWindow + 4999, false}, // seen now
	} {
		if got := d.admit(c.origin, c.seq); got != c.want {
			t.Fatalf("admit(%d, %d) = %v, want %v", c.origin, c.seq, got, c.want)
		}
	}
}

func TestDedupMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(1, 4).Draw(t, "limit")
		d := newDedup(limit)
		seen := make(map[[2]uint64]bool)
		newest := make(map[uint64]uint64)
		cursor := make(map[uint64]uint64) // each origin's publishing position
		for range rapid.IntRange(1, 400).Draw(t, "steps") {
			origin := rapid.Uint64Range(1, 6).Draw(t, "origin")
			// Mostly in order, sometimes late, sometimes after a long gap
			// (messages this Plexus did not want).
			cursor[origin] += rapid.SampledFrom([]uint64{0, 1, 1, 1, 2, 7, dedupWindow - 1, dedupWindow + 3}).Draw(t, "advance")
			back := rapid.Uint64Range(0, 40).Draw(t, "late")
			seq := cursor[origin] + dedupWindow + 100 - back
			key := [2]uint64{origin, seq}
			got := d.admit(origin, seq)
			if got && seen[key] {
				t.Fatalf("admitted (%d, %d) twice", origin, seq)
			}
			// A message never seen and within the window of its origin's
			// newest sequence is admitted, unless the origin was evicted.
			_, remembered := newest[origin]
			if !got && !seen[key] && remembered && seq+dedupWindow > newest[origin] {
				t.Fatalf("dropped new (%d, %d) within the window of %d", origin, seq, newest[origin])
			}
			if got {
				seen[key] = true
				if seq > newest[origin] {
					newest[origin] = seq
				}
			}
			if len(d.origins) > limit {
				t.Fatalf("remembers %d origins, limit %d", len(d.origins), limit)
			}
			// Forget what the dedup evicted, as it did.
			for o := range newest {
				if _, ok := d.origins[o]; !ok {
					delete(newest, o)
					for k := range seen {
						if k[0] == o {
							delete(seen, k)
						}
					}
				}
			}
		}
	})
}
