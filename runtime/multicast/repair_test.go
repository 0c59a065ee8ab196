package multicast_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestRepair drops every seventh message (once) at a subscriber's sockets
// and checks that NAK repair recovers each, and that without repair they
// stay lost and are counted.
func TestRepair(t *testing.T) {
	if !netns(t) {
		return
	}
	const n = 200
	tests := []struct {
		name   string
		opts   []multicast.Option
		repair bool
		size   int  // payload bytes: large ones are fragmented
		stall  bool // the subscriber reads nothing past the first loss until all is sent
	}{
		// The ring outlasts the burst: under -race the subscriber may lag
		// the publisher by more than the default 64 messages.
		{"repair", []multicast.Option{multicast.WithRepair(n)}, true, 8, false},
		{"repair of fragmented messages", []multicast.Option{multicast.WithRepair(n)}, true, 5000, false},
		// Each repair queues behind up to n messages sent before it: the
		// receiver must still take it, as a lagging one would.
		{"repair behind a backlog", []multicast.Option{multicast.WithRepair(n)}, true, 5000, true},
		{"off", []multicast.Option{multicast.WithRepair(-1)}, false, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := newNode(t, tt.opts...)
			var mu sync.Mutex
			dropped := make(map[uint64]bool)
			sent := make(chan struct{})
			sub := newNodeHooked(t, func(_, seq uint64, index uint16) bool {
				if tt.stall && seq == 4 && index == 0 {
					select { // stall once: later datagrams queue in the socket
					case <-sent:
					case <-time.After(5 * time.Second):
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if seq%7 != 3 || index != 0 || dropped[seq] {
					return false
				}
				dropped[seq] = true
				return true
			}, tt.opts...)
			got := subscribe(t, sub, bytesTopic)
			payload := make([]byte, tt.size)
			for i := range n {
				payload[0] = byte(i)
				if err := bytesTopic.Publish(context.Background(), pub.p, wrapperspb.Bytes(payload)); err != nil {
					t.Fatal(err)
				}
				if i%20 == 0 {
					time.Sleep(time.Millisecond) // spare the socket buffer: only the hook drops
				}
			}
			close(sent)
			lost := (n + 4) / 7 // seq%7 == 3 among 1..n
			want := n
			if !tt.repair {
				want = n - lost
			}
			v := got.wait(want, 5*time.Second)
			time.Sleep(100 * time.Millisecond) // late repairs would show here
			v = got.values()
			stats := sub.m.Stats()
			if len(v) != want {
				t.Fatalf("%d of %d messages delivered, want %d (subscriber stats %+v, publisher %+v)", len(v), n, want, stats, pub.m.Stats())
			}
			firsts := make([]int, len(v))
			for i, m := range v {
				firsts[i] = int(m.Value[0])
			}
			slices.Sort(firsts)
			if tt.repair && !slices.Equal(firsts, seq(n)) {
				t.Errorf("delivered %v, want each of 0..%d once", firsts, n-1)
			}
			wantRepaired := uint64(0)
			if tt.repair {
				wantRepaired = uint64(lost)
			}
			if stats.Gaps != uint64(lost) || stats.Repaired != wantRepaired {
				t.Errorf("gaps %d, repaired %d; want %d, %d", stats.Gaps, stats.Repaired, lost, wantRepaired)
			}
			if ps := pub.m.Stats(); tt.repair && (ps.Repairs < uint64(lost) || ps.NAKsReceived == 0 || stats.NAKsSent == 0) {
				t.Errorf("publisher resent %d messages after %d NAKs (subscriber sent %d); want ≥ %d", ps.Repairs, ps.NAKsReceived, stats.NAKsSent, lost)
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// newNodeHooked is newNode with a drop hook on the data readers.
func newNodeHooked(t testing.TB, drop func(topic, seq uint64, index uint16) bool, opts ...multicast.Option) node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]multicast.Option{multicast.WithInterface("lo"), multicast.WithHeartbeat(100 * time.Millisecond)}, opts...)
	m, err := multicast.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	multicast.SetDropHook(m, drop)
	p := plexo.New()
	if err := p.Attach(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return node{p, m}
}

// TestRepairRingBound checks that a transport keeps no more messages for
// repair than a receiver takes repairs from: 65536 behind the newest.
func TestRepairRingBound(t *testing.T) {
	if !netns(t) { // New joins the control group
		return
	}
	ctx := context.Background()
	for _, tt := range []struct{ n, want int }{{-1, 0}, {0, multicast.DefaultRepair}, {100, 100}, {1 << 16, 1 << 16}, {1 << 30, 1 << 16}} {
		m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithRepair(tt.n))
		if err != nil {
			t.Fatal(err)
		}
		if got := multicast.RepairRing(m); got != tt.want {
			t.Errorf("WithRepair(%d) keeps %d messages per topic, want %d", tt.n, got, tt.want)
		}
		m.Close()
	}
}
