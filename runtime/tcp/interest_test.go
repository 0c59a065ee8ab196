package tcp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/plexo-go/plexo"
)

// TestTopicBytesPerPeerAreBounded checks that a peer subscribing to long
// topic names is disconnected before the names it makes the Transport keep
// exceed a bound, and that names it withdraws count no more.
func TestTopicBytesPerPeerAreBounded(t *testing.T) {
	tr, p := registeredPeer(t)
	long := strings.Repeat("x", 64<<10)
	// Subscribing and withdrawing again and again keeps nothing.
	for i := range 2 * maxTopicBytesPerPeer / len(long) {
		topic := fmt.Sprintf("%s.%d", long, i)
		if err := tr.peerInterest(nullHost{}, p, topic, 1); err != nil {
			t.Fatalf("subscription %d, after withdrawing the others: %v", i, err)
		}
		if err := tr.peerInterest(nullHost{}, p, topic, 0); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	kept := 0
	for i := 0; err == nil && i < 2*maxTopicBytesPerPeer/len(long); i++ {
		topic := fmt.Sprintf("%s.%d", long, i)
		if err = tr.peerInterest(nullHost{}, p, topic, 1); err == nil {
			kept += len(topic)
		}
	}
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("a peer subscribed to %d bytes of topic names; err %v", kept, err)
	}
	if kept > maxTopicBytesPerPeer {
		t.Fatalf("the Transport kept %d bytes of a peer's topic names, more than %d", kept, maxTopicBytesPerPeer)
	}
}

// recordingHost is a Host that records the last interest reported per
// topic.
type recordingHost struct {
	nullHost
	mu       sync.Mutex
	interest map[string]int
}

func (h *recordingHost) SetInterest(topic string, hops int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hops == 0 {
		delete(h.interest, topic)
	} else {
		h.interest[topic] = hops
	}
}

// TestListenerInterestMatchesModel has the peers of a listener report
// random distances to two topics while the Plexus advertises random ones
// and connections end, and compares, after each change, what every peer
// was told and what the Host was told with the rule written out by brute
// force.
func TestListenerInterestMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tr := newTransport(newConfig(nil))
		defer tr.cancel()
		h := &recordingHost{interest: make(map[string]int)}
		tr.host = h // as Start sets it
		n := rapid.IntRange(1, 4).Draw(rt, "peers")
		peers := make([]*peer, n)
		for i := range peers {
			c1, c2 := net.Pipe()
			defer c1.Close()
			defer c2.Close()
			peers[i] = newPeer(tr, c1, hello{peerID: uint64(i + 2), maxFrame: 1 << 20})
			if !tr.register(peers[i]) {
				rt.Fatal("register failed")
			}
		}
		topics := []string{"a.v1.A.proto", "b.v1.B.proto"}
		wants := make([]map[int]int, len(topics)) // topic -> peer -> distance
		adv := make([]int, len(topics))
		gone := make([]bool, n)
		for i := range wants {
			wants[i] = make(map[int]int)
		}
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			ti := rapid.IntRange(0, len(topics)-1).Draw(rt, "topic")
			hops := rapid.IntRange(0, plexo.MaxHops).Draw(rt, "hops")
			if pi := rapid.IntRange(-1, n-1).Draw(rt, "peer"); pi < 0 {
				tr.Advertise(topics[ti], hops)
				adv[ti] = hops
			} else if !gone[pi] && rapid.IntRange(0, 9).Draw(rt, "drop") == 0 {
				tr.unregister(peers[pi]) // its connection ended
				gone[pi] = true
				for _, w := range wants {
					delete(w, pi)
				}
			} else if !gone[pi] {
				if err := tr.peerInterest(h, peers[pi], topics[ti], hops); err != nil {
					rt.Fatal(err)
				}
				wants[ti][pi] = hops
			}
			for ti, topic := range topics {
				nearest := 0
				for _, w := range wants[ti] {
					if w > 0 && (nearest == 0 || w < nearest) {
						nearest = w
					}
				}
				if got := h.interest[topic]; got != nearest {
					rt.Fatalf("%s: reported %d to the Host, want %d (wants %v)", topic, got, nearest, wants[ti])
				}
				for pi, p := range peers {
					if gone[pi] {
						continue
					}
					want := adv[ti]
					for qi, w := range wants[ti] {
						if qi != pi && w > 0 && (want == 0 || w+1 < want) {
							want = w + 1
						}
					}
					if want > plexo.MaxHops {
						want = 0
					}
					tr.mu.Lock()
					got := p.told[topic]
					tr.mu.Unlock()
					if got != want {
						rt.Fatalf("%s: told peer %d %d, want %d (Plexus advertised %d, wants %v)", topic, pi, got, want, adv[ti], wants[ti])
					}
				}
			}
		}
	})
}

// BenchmarkInterestChange measures one change of one peer's interest on a
// listener whose peers all want the topic: the peer moves between distances
// 1 and 3, which changes what every other peer is told (4 or 2 hops). Each
// change tells every peer that needs it, so it is at least O(peers); the
// distance each is told costs O(1) with per-distance counts.
func BenchmarkInterestChange(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			tr := newTransport(newConfig(nil))
			defer tr.cancel()
			peers := make([]*peer, n)
			for i := range peers {
				c1, c2 := net.Pipe()
				defer c1.Close()
				defer c2.Close()
				peers[i] = newPeer(tr, c1, hello{peerID: uint64(i + 2), maxFrame: 1 << 20})
				if !tr.register(peers[i]) {
					b.Fatal("register failed")
				}
			}
			const topic = "bench.v1.Interest.proto"
			for _, p := range peers {
				if err := tr.peerInterest(nullHost{}, p, topic, 3); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			hops := 3
			for b.Loop() {
				hops = 4 - hops // 1, 3, 1, ...
				if err := tr.peerInterest(nullHost{}, peers[0], topic, hops); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
