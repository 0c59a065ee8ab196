package multicast_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestWakeUps checks that what falls due between two runs of a transport's
// loop is done on time rather than at its next heartbeat: the loop's poll is
// raised to an hour and heartbeats are far apart, so only the wake-ups
// remain.
func TestWakeUps(t *testing.T) {
	if !netns(t) {
		return
	}
	const wait = 5 * time.Second
	t.Run("NAK retries", func(t *testing.T) {
		pub := newNode(t)
		sub := newPolledNode(t, time.Minute, func(_, seq uint64, _ uint16) bool { return seq == 2 }) // lost for good
		got := subscribe(t, sub, bytesTopic)
		// The loop has run once (its first tick sends a HELLO), and
		// sleeps now until woken.
		if !waitFor(wait, func() bool { return sub.m.Stats().ControlSent > 0 }) {
			t.Fatal("the subscriber's loop never ran")
		}
		for i := range 3 {
			if err := bytesTopic.Publish(context.Background(), pub.p, wrapperspb.Bytes([]byte{byte(i)})); err != nil {
				t.Fatal(err)
			}
		}
		if len(got.wait(2, wait)) != 2 {
			t.Fatalf("messages 1 and 3 not delivered (stats %+v)", sub.m.Stats())
		}
		// The first NAK goes out as the gap shows; the loop sends the
		// two retries, 20 ms apart.
		if !waitFor(wait, func() bool { return sub.m.Stats().NAKsSent == 3 }) {
			t.Fatalf("NAKs sent: %d, want 3", sub.m.Stats().NAKsSent)
		}
	})
	t.Run("HELLO after a change of interest", func(t *testing.T) {
		const hb = 20 * time.Second
		_, watch := startPolledHops(t, 1, hb)
		m, _ := startPolledHops(t, 2, hb)
		// A change of interest brings the HELLO forward, to no sooner
		// than a tenth of a heartbeat after the node started.
		time.Sleep(hb/10 + 100*time.Millisecond)
		m.Advertise(stringTopic.Name(), 1)
		watch.wait(t, stringTopic.Name(), 1, wait)
	})
}

// newPolledNode is newNodeHooked with heartbeats hb apart and a loop that
// polls once an hour.
func newPolledNode(t *testing.T, hb time.Duration, drop func(topic, seq uint64, index uint16) bool) node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(hb))
	if err != nil {
		t.Fatal(err)
	}
	multicast.SetDropHook(m, drop)
	multicast.SetPoll(m, time.Hour)
	p := plexo.New()
	if err := p.Attach(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return node{p, m}
}

// startPolledHops is startHops with heartbeats hb apart and a loop that
// polls once an hour.
func startPolledHops(t *testing.T, id uint64, hb time.Duration) (*multicast.Transport, *hopsHost) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(hb))
	if err != nil {
		t.Fatal(err)
	}
	multicast.SetPoll(m, time.Hour)
	h := newHopsHost(id)
	if err := m.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, h
}
