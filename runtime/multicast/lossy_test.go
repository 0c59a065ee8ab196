package multicast_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestLossyRepair drops each data datagram at a subscriber's sockets with
// probability 5%, 10% and 20% (seeded; repairs are dropped alike) while a
// publisher sends 1,000 messages, and checks that NAK repair recovers
// nearly all of them and delivers none twice. Loss NAK repair cannot see
// (the last messages, with nothing after them to show a gap) or that
// outlasts its three tries stays lost, and is counted. Run with -v for the
// figures in RELIABILITY.md.
func TestLossyRepair(t *testing.T) {
	if !netns(t) {
		return
	}
	const n = 1000
	for _, p := range []float64{0.05, 0.10, 0.20} {
		t.Run(fmt.Sprintf("%.0f%%", p*100), func(t *testing.T) {
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(uint64(p*100), 1))
			drops := 0
			opts := []multicast.Option{multicast.WithRepair(n)}
			pub := newNode(t, opts...)
			sub := newNodeHooked(t, func(uint64, uint64, uint16) bool {
				mu.Lock()
				defer mu.Unlock()
				if rng.Float64() < p {
					drops++
					return true
				}
				return false
			}, opts...)
			got := subscribe(t, sub, int64Topic)
			start := time.Now()
			for i := range n {
				if err := int64Topic.Publish(context.Background(), pub.p, wrapperspb.Int64(int64(i))); err != nil {
					t.Fatal(err)
				}
				if i%20 == 0 {
					time.Sleep(time.Millisecond) // spare the socket buffer: only the hook drops
				}
			}
			v := got.wait(n, 3*time.Second)
			time.Sleep(200 * time.Millisecond) // late repairs and duplicates would show here
			v = got.values()
			took := time.Since(start)
			seen := make(map[int64]bool, len(v))
			for _, x := range v {
				if seen[x.Value] {
					t.Fatalf("message %d delivered twice", x.Value)
				}
				seen[x.Value] = true
			}
			stats := sub.m.Stats()
			mu.Lock()
			dropped := drops
			mu.Unlock()
			lost := n - len(v)
			t.Logf("drop %.0f%%: %d datagrams dropped; %d of %d delivered, %d lost; gaps %d, repaired %d, NAKs sent %d, publisher resent %d; %v",
				p*100, dropped, len(v), n, lost, stats.Gaps, stats.Repaired, stats.NAKsSent, pub.m.Stats().Repairs, took.Round(time.Millisecond))
			// Each loss has three NAKs and repairs, each dropped with
			// probability p: p^4 of losses stay lost, a handful at most
			// at 20%, plus what trails the last message received.
			if limit := int(float64(n)*p*p*p) + 3; lost > limit {
				t.Errorf("%d messages lost, want at most %d", lost, limit)
			}
		})
	}
}
