package tcp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
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
