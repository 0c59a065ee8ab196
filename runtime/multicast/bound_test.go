package multicast_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// waitFor polls cond until it holds or timeout passes, and reports whether
// it held.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestForgedSenders checks that datagrams from many distinct sender ids, as
// restarting nodes or a hostile host forging ids would send, keep the
// receiver's per-sender state under its cap, evicting (and counting) the
// least recently heard.
func TestForgedSenders(t *testing.T) {
	if !netns(t) {
		return
	}
	const capacity, senders = 16, 200
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	multicast.SetSenderCap(m, capacity)
	p := plexo.New()
	if err := p.Attach(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	sub := node{p, m}
	c := subscribe(t, sub, stringTopic)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range uint64(senders) {
		b, dst := multicast.ForgeData(m, 1000+i, stringTopic.Name(), 1, nil)
		if b == nil {
			t.Fatal("cannot forge a datagram")
		}
		if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond) // let the reader keep up
		}
	}
	got := c.wait(senders, 5*time.Second)
	stats := m.Stats()
	if len(got) < capacity+1 {
		t.Fatalf("delivered %d of %d forged messages, too few to test the cap", len(got), senders)
	}
	if stats.SenderStates > capacity {
		t.Errorf("sender states: %d, want at most %d", stats.SenderStates, capacity)
	}
	if want := uint64(len(got) - capacity); stats.SenderEvictions < want {
		t.Errorf("sender evictions: %d, want at least %d (%d delivered, cap %d)", stats.SenderEvictions, want, len(got), capacity)
	}
}

// TestDepartedSender checks that the state kept for a sender is dropped once
// it leaves the membership view and has been silent, and that of a topic
// once this node no longer subscribes to it.
func TestDepartedSender(t *testing.T) {
	if !netns(t) {
		return
	}
	sub, pub := newNode(t), newNode(t)
	c := subscribe(t, sub, stringTopic)
	if err := stringTopic.Publish(context.Background(), pub.p, wrapperspb.String("before")); err != nil {
		t.Fatal(err)
	}
	if got := c.wait(1, 5*time.Second); len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	if n := sub.m.Stats().SenderStates; n != 1 {
		t.Fatalf("sender states while the publisher is up: %d, want 1", n)
	}
	pub.p.Close()
	if !waitFor(10*time.Second, func() bool { return sub.m.Stats().SenderStates == 0 }) {
		t.Fatalf("sender states after the publisher left: %d, want 0", sub.m.Stats().SenderStates)
	}
	if stats := sub.m.Stats(); stats.SenderEvictions != 0 {
		t.Errorf("sender evictions: %d, want 0 (dropped by departure, not by the cap)", stats.SenderEvictions)
	}
}
