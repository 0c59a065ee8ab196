package plexonats_test

import (
	"testing"

	"github.com/plexo-go/plexo/runtime/pipe"
)

// TestForwardedCountsHandOffsOnly: a Plexus whose only transport is NATS
// forwards nothing of what it receives; a Plexus bridging NATS to a pipe
// forwards each message once, to the pipe.
func TestForwardedCountsHandOffsOnly(t *testing.T) {
	s := startServer(t, -1)
	pub, sub, bridge, beyond := newPlexus(t), newPlexus(t), newPlexus(t), newPlexus(t)
	pubT := attach(t, pub, connect(t, s.ClientURL()))
	attach(t, sub, connect(t, s.ClientURL()))
	attach(t, bridge, connect(t, s.ClientURL()))
	a, b := pipe.New()
	if err := bridge.Attach(a); err != nil {
		t.Fatal(err)
	}
	if err := beyond.Attach(b); err != nil {
		t.Fatal(err)
	}
	atSub, _ := subscribeInt64(t, sub)
	atBeyond, _ := subscribeInt64(t, beyond)
	// The subscriber and the bridge both subscribed on NATS.
	eventually(t, "the publisher hears both", func() bool { return pubT.Stats().RemotePeers == 2 })
	publishInt64(t, pub, 1, 2, 3)
	atSub.WaitFor(t, 3)
	atBeyond.WaitFor(t, 3)
	topic := int64Topic.Name()
	if got := pub.Stats().Topics[topic].Forwarded; got != 3 {
		t.Errorf("publisher Forwarded = %d, want 3 (to NATS)", got)
	}
	if got := sub.Stats().Topics[topic].Forwarded; got != 0 {
		t.Errorf("NATS-only subscriber Forwarded = %d, want 0", got)
	}
	if got := bridge.Stats().Topics[topic].Forwarded; got != 3 {
		t.Errorf("bridge Forwarded = %d, want 3 (to the pipe)", got)
	}
}
