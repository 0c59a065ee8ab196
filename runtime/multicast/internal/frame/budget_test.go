package frame

import (
	"errors"
	"testing"
	"time"
)

// TestSharedBudget checks that Reassemblers sharing a Budget hold at most
// its bytes together, each keeping its own bounds, and that completing,
// expiring and resetting give the bytes back.
func TestSharedBudget(t *testing.T) {
	const msg = 1000
	w := NewWriter(0, 1, 200, nil)
	b := NewBudget(4 * msg)
	var rs []*Reassembler
	for range 3 {
		rs = append(rs, NewReassembler(Limits{MaxMessage: msg, MaxPartial: 64, MaxBytes: 4 * msg, Timeout: time.Second, Shared: b}))
	}
	now := time.Now()
	first := func(seq uint64) (*Header, []byte, [][]byte) {
		frames, err := w.Frames(KindData, 1, seq, nil, make([]byte, msg-10))
		if err != nil || len(frames) < 2 {
			t.Fatalf("frames: %d, %v", len(frames), err)
		}
		var h Header
		body, _, err := Parse(frames[0], &h)
		if err != nil {
			t.Fatal(err)
		}
		return &h, body, frames
	}
	held := 0
	var last [][]byte
	for i, r := range rs {
		for j := range uint64(4) {
			h, body, frames := first(uint64(i)*10 + j)
			_, err := r.Add(now, h, body)
			switch {
			case err == nil:
				held++
				last = last[:0]
				for _, f := range frames { // the writer reuses its buffer
					last = append(last, append([]byte(nil), f...))
				}
			case !errors.Is(err, ErrTooLarge):
				t.Fatal(err)
			}
		}
	}
	if held != 4 || b.Used() != 4*(msg-10) {
		t.Fatalf("%d partial messages held, %d bytes of the budget used; want 4 and %d", held, b.Used(), 4*(msg-10))
	}
	if rs[1].Dropped+rs[2].Dropped != 8 {
		t.Errorf("dropped by the other reassemblers: %d, want 8", rs[1].Dropped+rs[2].Dropped)
	}
	// Completing a message gives its bytes back.
	for _, f := range last[1:] {
		var h Header
		body, _, _ := Parse(f, &h)
		if _, err := rs[0].Add(now, &h, body); err != nil {
			t.Fatal(err)
		}
	}
	if b.Used() != 3*(msg-10) {
		t.Fatalf("after completing one: %d bytes used, want %d", b.Used(), 3*(msg-10))
	}
	h, body, _ := first(100)
	if _, err := rs[2].Add(now, h, body); err != nil {
		t.Fatalf("the freed bytes are not usable by another reassembler: %v", err)
	}
	rs[0].Expire(now.Add(2 * time.Second))
	rs[2].Reset()
	if b.Used() != 0 {
		t.Fatalf("after expiry and reset: %d bytes used, want 0", b.Used())
	}
}
