package tcp

import (
	"errors"
	"fmt"
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
