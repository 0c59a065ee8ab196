package frame

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var lim = Limits{MaxMessage: 16 << 20, MaxPartial: 8, MaxBytes: 32 << 20, Timeout: time.Second}

func TestRoundTrip(t *testing.T) {
	keys := NewKeys(map[uint8][]byte{3: []byte("secret")}, 3)
	tests := []struct {
		name    string
		size    int
		keys    *Keys
		shuffle bool
	}{
		{"empty", 0, nil, false},
		{"one frame", 100, nil, false},
		{"exactly one frame", 1400 - HeaderSize - 2 - 5, nil, false},
		{"fragmented", 10_000, nil, false},
		{"1 MiB shuffled", 1 << 20, nil, true},
		{"tagged fragmented", 5000, keys, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := make([]byte, tt.size)
			for i := range payload {
				payload[i] = byte(i * 7)
			}
			w := NewWriter(9, 42, 1400, tt.keys)
			frames, err := w.Frames(KindData, 77, 5, AppendDataPrefix(nil, "a.B.proto"), payload)
			if err != nil {
				t.Fatal(err)
			}
			order := rand.New(rand.NewPCG(1, 2)).Perm(len(frames))
			if !tt.shuffle {
				for i := range order {
					order[i] = i
				}
			}
			r := NewReassembler(lim)
			var got []byte
			for n, i := range order {
				f := frames[i]
				if len(f) > 1400 {
					t.Fatalf("frame of %d bytes exceeds the MTU", len(f))
				}
				var h Header
				body, tag, err := Parse(f, &h)
				if err != nil {
					t.Fatal(err)
				}
				if tt.keys != nil && (tag == nil || !tt.keys.Clone().Verify(f, &h)) {
					t.Fatal("tag does not verify")
				}
				if h.Domain != 9 || h.Sender != 42 || h.Topic != 77 || h.Seq != 5 {
					t.Fatalf("header %+v", h)
				}
				msg, err := r.Add(time.Now(), &h, body)
				if err != nil {
					t.Fatal(err)
				}
				if msg != nil {
					if n != len(order)-1 {
						t.Fatalf("complete after %d of %d fragments", n+1, len(order))
					}
					got = append([]byte(nil), msg...)
				}
			}
			name, p, err := ParseData(got)
			if err != nil || string(name) != "a.B.proto" || !bytes.Equal(p, payload) {
				t.Fatalf("round trip: name %q, %d bytes, err %v", name, len(p), err)
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	w := NewWriter(0, 1, 1400, NewKeys(map[uint8][]byte{1: []byte("mallory")}, 1))
	frames, _ := w.Frames(KindData, 1, 1, nil, []byte("hi"))
	var h Header
	if _, _, err := Parse(frames[0], &h); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*Keys{
		"same id, other key": NewKeys(map[uint8][]byte{1: []byte("alice")}, 1),
		"unknown id":         NewKeys(map[uint8][]byte{2: []byte("mallory")}, 2),
	} {
		t.Run(name, func(t *testing.T) {
			if k.Verify(frames[0], &h) {
				t.Fatal("verified a frame signed with another key")
			}
		})
	}
}

func TestReassemblyBounds(t *testing.T) {
	w := NewWriter(0, 1, 200, nil)
	r := NewReassembler(Limits{MaxMessage: 10_000, MaxPartial: 2, MaxBytes: 20_000, Timeout: time.Second})
	now := time.Now()
	for seq := range uint64(3) {
		frames, _ := w.Frames(KindData, 1, seq, nil, make([]byte, 1000))
		var h Header
		body, _, _ := Parse(frames[0], &h)
		_, err := r.Add(now, &h, body)
		if seq == 2 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("third partial message: err %v, want ErrTooLarge", err)
		}
	}
	r.Expire(now.Add(2 * time.Second))
	if n, b := r.Pending(); n != 0 || b != 0 {
		t.Fatalf("after timeout: %d partial messages, %d bytes", n, b)
	}
	if r.Dropped != 3 {
		t.Fatalf("dropped %d, want 3", r.Dropped)
	}
	frames, _ := w.Frames(KindData, 1, 9, nil, make([]byte, 20_000))
	var h Header
	body, _, _ := Parse(frames[0], &h)
	if _, err := r.Add(now, &h, body); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized message: err %v", err)
	}
}

func TestControlRoundTrip(t *testing.T) {
	tests := []agree.Msg{
		{Kind: agree.KindHello, From: 1, ViewSize: 3, Digest: 99, Topics: []agree.Topic{{ID: 5, Name: "a.B.proto", Hops: 1}, {ID: 6, Name: "c"}, {ID: 7, Name: "d.E.proto", Hops: 16}}},
		{Kind: agree.KindPromise, From: 1, To: 2, Group: 7, Gen: 1, Ballot: agree.Ballot{Round: 3, Node: 2}, AccBallot: agree.Ballot{Round: 2, Node: 9}, Value: 11, ViewSize: 4},
		{Kind: agree.KindSnapshot, From: 1, To: 2, Entries: []agree.Entry{{Group: 1, Gen: 2, Topic: 3, Ballot: agree.Ballot{Round: 4, Node: 5}}}},
		{Kind: agree.KindNack, From: 1, To: 2, NextGen: 4},
	}
	for _, m := range tests {
		t.Run(m.Kind.String(), func(t *testing.T) {
			b := AppendControl(nil, 123, &m)
			var got agree.Msg
			ts, err := ParseControl(ControlBase+uint8(m.Kind), b, &got)
			if err != nil || ts != 123 || !reflect.DeepEqual(got, m) {
				t.Fatalf("got %+v ts %d err %v, want %+v", got, ts, err, m)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	now := time.Now()
	r := NewReplay(time.Second)
	ts := now.UnixNano()
	tests := []struct {
		name string
		seq  uint64
		ts   int64
		want bool
	}{
		{"first", 100, ts, true},
		{"replayed", 100, ts, false},
		{"older, unseen", 98, ts, true},
		{"newer", 101, ts, true},
		{"stale timestamp", 102, ts - int64(2*time.Second), false},
		{"far in the past", 101 - 64, ts, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Accept(now, 1, tt.seq, tt.ts); got != tt.want {
				t.Fatalf("Accept = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFramesAllocs(t *testing.T) {
	w := NewWriter(0, 1, 1400, NewKeys(map[uint8][]byte{1: []byte("k")}, 1))
	prefix := AppendDataPrefix(nil, "a.B.proto")
	payload := make([]byte, 5000)
	w.Frames(KindData, 1, 1, prefix, payload)
	if n := testing.AllocsPerRun(100, func() { w.Frames(KindData, 1, 1, prefix, payload) }); n != 0 {
		t.Fatalf("%v allocations per message, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	w := NewWriter(0, 1, 300, NewKeys(map[uint8][]byte{1: []byte("k")}, 1))
	frames, _ := w.Frames(KindData, 1, 1, AppendDataPrefix(nil, "t"), make([]byte, 1000))
	for _, fr := range frames {
		f.Add(append([]byte(nil), fr...))
	}
	f.Add([]byte("PX"))
	f.Add(append([]byte(nil), frames[0][:HeaderSize+10]...)) // truncated, as a small receive slot cuts it
	f.Fuzz(func(t *testing.T, b []byte) {
		// ParseHeader reads any datagram's start, truncated ones too.
		var start Header
		headerErr := ParseHeader(b, &start)
		if headerErr == nil && len(b) < HeaderSize {
			t.Fatalf("ParseHeader accepted %d bytes", len(b))
		}
		var h Header
		body, tag, err := Parse(b, &h)
		if err != nil {
			return
		}
		if headerErr != nil || start != h {
			t.Fatalf("ParseHeader %+v, %v; Parse %+v", start, headerErr, h)
		}
		if len(body)+HeaderSize+len(tag) != len(b) {
			t.Fatalf("body %d + tag %d does not add up to %d", len(body), len(tag), len(b))
		}
		var h2 Header
		out := make([]byte, HeaderSize)
		h.Put(out)
		if _, _, err := Parse(append(out, b[HeaderSize:]...), &h2); err != nil || h2 != h {
			t.Fatalf("header does not round-trip: %+v %+v %v", h, h2, err)
		}
		NewKeys(map[uint8][]byte{1: []byte("k")}, 1).Verify(b, &h)
		ParseData(body)
	})
}

func FuzzControl(f *testing.F) {
	f.Add(uint8(ControlBase+uint8(agree.KindHello)), AppendControl(nil, 1, &agree.Msg{Kind: agree.KindHello, From: 1, Topics: []agree.Topic{{ID: 1, Name: "x"}}}))
	f.Add(uint8(ControlBase+uint8(agree.KindHello)), AppendControl(nil, 1, &agree.Msg{Kind: agree.KindHello, From: 2, Topics: []agree.Topic{{ID: 1, Name: "x", Hops: 1}, {ID: 2, Name: "y.Z.proto", Hops: 3}, {ID: 3, Hops: 255}}}))
	f.Add(uint8(ControlBase+uint8(agree.KindSnapshot)), AppendControl(nil, 1, &agree.Msg{Kind: agree.KindSnapshot, Entries: make([]agree.Entry, 3)}))
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		var m agree.Msg
		ts, err := ParseControl(kind, b, &m)
		if err != nil {
			return
		}
		again := AppendControl(nil, ts, &m)
		var m2 agree.Msg
		if _, err := ParseControl(kind, again, &m2); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("control message does not round-trip: %v", err)
		}
	})
}

// FuzzReassembly feeds arbitrary fragments (as a sequence of frames cut
// from the input) and checks memory stays within the limits.
func FuzzReassembly(f *testing.F) {
	w := NewWriter(0, 1, 100, nil)
	frames, _ := w.Frames(KindData, 1, 1, nil, make([]byte, 500))
	var seed []byte
	for _, fr := range frames {
		seed = append(seed, byte(len(fr)))
		seed = append(seed, fr...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxMessage: 4096, MaxPartial: 4, MaxBytes: 8192, Timeout: time.Second}
		r := NewReassembler(lim)
		now := time.Unix(0, 0)
		for len(b) > 0 {
			n := int(b[0])
			b = b[1:]
			if n > len(b) {
				n = len(b)
			}
			var h Header
			body, _, err := Parse(b[:n], &h)
			b = b[n:]
			now = now.Add(100 * time.Millisecond)
			if err != nil {
				continue
			}
			msg, err := r.Add(now, &h, body)
			if err == nil && msg != nil && len(msg) != int(h.Length) {
				t.Fatalf("message of %d bytes, header says %d", len(msg), h.Length)
			}
			if p, by := r.Pending(); p > lim.MaxPartial || by > lim.MaxBytes {
				t.Fatalf("%d partial messages, %d bytes: over the limits", p, by)
			}
		}
	})
}

func TestNakRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		ranges []repair.Range
		want   []repair.Range
	}{
		{"one", []repair.Range{{First: 3, Last: 3}}, []repair.Range{{First: 3, Last: 3}}},
		{"several", []repair.Range{{First: 2, Last: 5}, {First: 9, Last: 9}}, []repair.Range{{First: 2, Last: 5}, {First: 9, Last: 9}}},
		{"none", nil, nil},
		{"too many are cut", make40(), make40()[:MaxNakRanges]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendNak(nil, 42, 7, tt.ranges)
			ts, target, got, err := ParseNak(b, nil)
			if err != nil || ts != 42 || target != 7 || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseNak = %d, %d, %v, %v; want 42, 7, %v", ts, target, got, err, tt.want)
			}
		})
	}
	bad := map[string][]byte{
		"short":         AppendNak(nil, 1, 2, nil)[:10],
		"truncated":     AppendNak(nil, 1, 2, []repair.Range{{First: 1, Last: 2}})[:20],
		"trailing":      append(AppendNak(nil, 1, 2, nil), 0),
		"empty range":   AppendNak(nil, 1, 2, []repair.Range{{First: 5, Last: 4}}),
		"zero sequence": AppendNak(nil, 1, 2, []repair.Range{{First: 0, Last: 4}}),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, _, _, err := ParseNak(b, nil); !errors.Is(err, ErrNak) {
				t.Fatalf("ParseNak error %v, want ErrNak", err)
			}
		})
	}
}

func make40() []repair.Range {
	r := make([]repair.Range, 40)
	for i := range r {
		r[i] = repair.Range{First: uint64(3*i + 1), Last: uint64(3*i + 2)}
	}
	return r
}

func FuzzNak(f *testing.F) {
	f.Add(AppendNak(nil, 1, 2, []repair.Range{{First: 1, Last: 5}, {First: 8, Last: 8}}))
	f.Add(AppendNak(nil, 1, 2, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, target, ranges, err := ParseNak(b, nil)
		if err != nil {
			return
		}
		if again := AppendNak(nil, ts, target, ranges); !bytes.Equal(again, b) {
			t.Fatalf("NAK does not round-trip")
		}
	})
}
