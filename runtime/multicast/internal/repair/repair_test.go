package repair

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWindow(t *testing.T) {
	type step struct {
		seq  uint64
		want Verdict
		lost uint64
	}
	tests := []struct {
		name    string
		steps   []step
		missing []Range
	}{
		{"in order", []step{{1, Newest, 0}, {2, Newest, 0}, {3, Newest, 0}}, nil},
		{"starts anywhere", []step{{40, Newest, 0}, {41, Newest, 0}}, nil},
		{"duplicate", []step{{1, Newest, 0}, {2, Newest, 0}, {2, Duplicate, 0}, {1, Duplicate, 0}}, nil},
		{"gap", []step{{1, Newest, 0}, {4, Newest, 2}, {5, Newest, 0}}, []Range{{2, 3}}},
		{"gap repaired once", []step{{1, Newest, 0}, {4, Newest, 2}, {3, Repaired, 0}, {3, Duplicate, 0}}, []Range{{2, 2}}},
		{"two gaps", []step{{1, Newest, 0}, {3, Newest, 1}, {6, Newest, 2}}, []Range{{2, 2}, {4, 5}}},
		{"all repaired", []step{{1, Newest, 0}, {3, Newest, 1}, {2, Repaired, 0}}, nil},
		{"gap beyond the window", []step{{1, Newest, 0}, {100, Newest, 98}, {2, Duplicate, 0}, {36, Repaired, 0}}, []Range{{37, 99}}},
		{"repair falls out of the window", []step{{1, Newest, 0}, {3, Newest, 1}, {3 + WindowSize, Newest, WindowSize - 1}, {2, Duplicate, 0}}, []Range{{4, 2 + WindowSize}}},
		{"zero is never valid", []step{{0, Duplicate, 0}, {1, Newest, 0}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w Window
			for i, s := range tt.steps {
				v, lost := w.Add(s.seq)
				if v != s.want || lost != s.lost {
					t.Fatalf("step %d: Add(%d) = %v, %d; want %v, %d", i, s.seq, v, lost, s.want, s.lost)
				}
			}
			if got := w.Missing(nil); !slices.Equal(got, tt.missing) {
				t.Errorf("missing %v, want %v", got, tt.missing)
			}
			if w.Pending() != (len(tt.missing) > 0) {
				t.Errorf("Pending() = %v with missing %v", w.Pending(), tt.missing)
			}
		})
	}
}

// TestWindowExpect checks a window started by Expect: the expected
// sequence counts as missing once a later one overtakes it, and is
// accepted once when it comes; what precedes it is too old; a window
// already started ignores Expect.
func TestWindowExpect(t *testing.T) {
	var w Window
	w.Expect(1)
	if v, lost := w.Add(3); v != Newest || lost != 2 {
		t.Fatalf("Add(3) after Expect(1) = %v, %d; want Newest, 2", v, lost)
	}
	if got := w.Missing(nil); !slices.Equal(got, []Range{{1, 2}}) {
		t.Fatalf("missing %v, want [{1 2}]", got)
	}
	if !w.IsDuplicate(3) || w.IsDuplicate(1) {
		t.Fatal("IsDuplicate disagrees with the window")
	}
	if v, _ := w.Add(1); v != Repaired {
		t.Fatalf("Add(1) = %v, want Repaired", v)
	}
	if v, _ := w.Add(1); v != Duplicate {
		t.Fatalf("second Add(1) = %v, want Duplicate", v)
	}

	var w2 Window
	w2.Expect(10)
	if v, _ := w2.Add(9); v != Duplicate {
		t.Fatalf("Add(9) after Expect(10) = %v, want Duplicate (too old)", v)
	}
	if v, lost := w2.Add(10); v != Newest || lost != 0 {
		t.Fatalf("Add(10) after Expect(10) = %v, %d; want Newest, 0", v, lost)
	}

	var w3 Window
	w3.Add(5)
	w3.Expect(2)
	if v, _ := w3.Add(2); v != Duplicate {
		t.Fatalf("Expect on a started window changed it: Add(2) = %v, want Duplicate", v)
	}
}

// TestWindowModel checks windows of several sizes against a set of every
// sequence seen: a message is delivered at most once, a missing one within
// the window is accepted exactly once (the window starts at the first
// sequence seen), IsDuplicate agrees with Add, and Missing lists exactly the
// missing sequences within the window.
func TestWindowModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.SampledFrom([]int{0, 1, 63, 64, 65, 128, 200}).Draw(t, "size")
		size := uint64(n)
		if n == 0 {
			size = WindowSize
		}
		w := NewWindow(n)
		seen := make(map[uint64]bool)
		var first, top uint64
		hi := rapid.Uint64Range(1, 2000).Draw(t, "hi")
		for _, seq := range rapid.SliceOfN(rapid.Uint64Range(1, hi), 1, 400).Draw(t, "seqs") {
			dup := w.IsDuplicate(seq)
			v, _ := w.Add(seq)
			if dup != (v == Duplicate) {
				t.Fatalf("IsDuplicate(%d) = %v, then Add = %v", seq, dup, v)
			}
			switch {
			case top == 0 || seq > top:
				if v != Newest {
					t.Fatalf("Add(%d) above top %d = %v", seq, top, v)
				}
			case seen[seq]:
				if v != Duplicate {
					t.Fatalf("Add(%d) seen before = %v", seq, v)
				}
			case seq > first && top-seq <= size:
				if v != Repaired {
					t.Fatalf("Add(%d) missing, top %d = %v", seq, top, v)
				}
			default:
				if v != Duplicate {
					t.Fatalf("Add(%d) too old, top %d = %v", seq, top, v)
				}
			}
			if v != Duplicate {
				seen[seq] = true
			}
			if first == 0 {
				first = seq
			}
			top = max(top, seq)
			var want []Range
			for s := max(first+1, top-min(top, size)); s < top; s++ {
				if seen[s] {
					continue
				}
				if k := len(want); k > 0 && want[k-1].Last+1 == s {
					want[k-1].Last = s
				} else {
					want = append(want, Range{s, s})
				}
			}
			if got := w.Missing(nil); !slices.Equal(got, want) {
				t.Fatalf("missing %v, want %v (top %d)", got, want, top)
			}
			if w.Pending() != (len(want) > 0) {
				t.Fatalf("Pending() = %v with missing %v", w.Pending(), want)
			}
		}
	})
}

func TestRing(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRing(4, 100)
	frames := func(seq uint64, sizes ...int) [][]byte {
		var fs [][]byte
		for _, n := range sizes {
			fs = append(fs, bytes.Repeat([]byte{byte(seq)}, n))
		}
		return fs
	}
	for seq := uint64(1); seq <= 6; seq++ {
		r.Put(seq, frames(seq, 10, 5))
	}
	r.Put(7, frames(7, 60, 60)) // too large: not kept, and it evicts 3
	tests := []struct {
		name string
		seq  uint64
		at   time.Duration
		held bool
		n    int
	}{
		{"evicted by newer", 2, 0, false, 0},
		{"evicted by a message too large", 3, 0, false, 0},
		{"too large", 7, 0, false, 0},
		{"held", 5, 0, true, 2},
		{"held, resent just now", 5, time.Millisecond, true, 0},
		{"held, resent after the holdoff", 5, 20 * time.Millisecond, true, 2},
		{"never sent", 9, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, held := r.Resend(nil, tt.seq, now.Add(tt.at), 10*time.Millisecond)
			if held != tt.held || len(got) != tt.n {
				t.Fatalf("Resend(%d) = %d frames, held %v; want %d, %v", tt.seq, len(got), held, tt.n, tt.held)
			}
			if tt.n > 0 && (!bytes.Equal(got[0], frames(tt.seq, 10)[0]) || len(got[1]) != 5) {
				t.Fatalf("Resend(%d) returned other bytes", tt.seq)
			}
		})
	}
}

func TestRingPutAllocs(t *testing.T) {
	r := NewRing(8, 4096)
	fs := [][]byte{make([]byte, 1400), make([]byte, 300)}
	for seq := uint64(1); seq <= 8; seq++ {
		r.Put(seq, fs)
	}
	seq := uint64(8)
	if n := testing.AllocsPerRun(1000, func() { seq++; r.Put(seq, fs) }); n != 0 {
		t.Fatalf("%v allocations per Put, want 0", n)
	}
}
