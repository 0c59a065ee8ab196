package multicast_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

// homeGroup is the default IPv4 home group index of a topic.
func homeGroup(name string) uint32 { return agree.Home(agree.IDOf(name), 1<<16, 80) }

// TestProcesses runs a publisher and three subscribers as separate
// processes, each with multicast.New(ctx, multicast.WithInterface("lo")),
// sharing the ports: every subscriber gets every message of its type, in
// order, starting with the first (the publisher never waits for interest),
// and its sockets see no datagram of the types it did not ask for.
func TestProcesses(t *testing.T) {
	if !netns(t) {
		return
	}
	const (
		strs  = "test.v1.String.proto"
		ints  = "test.v1.Int64.proto"
		other = "test.v1.Bytes.proto" // published, subscribed by nobody
		n     = 50
	)
	if g := []uint32{homeGroup(strs), homeGroup(ints), homeGroup(other)}; g[0] == g[1] || g[1] == g[2] || g[0] == g[2] {
		t.Fatalf("test topics share home groups %v; pick other names", g)
	}
	pub := startAgent(t, "publisher")
	subs := []struct {
		a          *agent
		typ, topic string
	}{
		{startAgent(t, "strings-1"), "string", strs},
		{startAgent(t, "strings-2"), "string", strs},
		{startAgent(t, "ints"), "int64", ints},
	}
	for _, s := range subs {
		s.a.subscribe(s.typ, s.topic)
	}
	pub.publish("string", strs, n)
	pub.publish("int64", ints, n)
	pub.publish("bytes", other, n)
	for _, s := range subs {
		t.Run(s.a.name, func(t *testing.T) {
			got := s.a.received(s.topic, n, 5*time.Second)
			if len(got) != n {
				t.Fatalf("%d of %d messages delivered (stats %+v)", len(got), n, s.a.stats())
			}
			for i, d := range got {
				if d.value != strconv.Itoa(i) {
					t.Fatalf("message %d is %q, want %d", i, d.value, i)
				}
			}
			time.Sleep(50 * time.Millisecond) // anything unwanted would be here by now
			if topics := s.a.topicsReceived(); len(topics) != 1 {
				t.Errorf("delivered topics %v, want only %s", topics, s.topic)
			}
			// The kernel filtered: its sockets saw its own type alone.
			if stats := s.a.stats(); stats.Datagrams != n || stats.Unwanted != 0 || stats.Received != n {
				t.Errorf("%d datagrams at its sockets, %d unwanted, %d delivered; want %d, 0, %d", stats.Datagrams, stats.Unwanted, stats.Received, n, n)
			}
		})
	}
}

// firstDeliveries has pub publish one message of k topics never used
// before, each already subscribed by sub, and returns the time from each
// first publish to its delivery.
func firstDeliveries(t testing.TB, pub, sub *agent, prefix string, k int) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, 0, k)
	for i := range k {
		topic := fmt.Sprintf("%s.T%d.proto", prefix, i)
		sub.subscribe("int64", topic)
		sent := pub.publish("int64", topic, 1)
		got := sub.received(topic, 1, 2*time.Second)
		if len(got) != 1 {
			t.Fatalf("first message of %s not delivered (subscriber stats %+v)", topic, sub.stats())
		}
		lat = append(lat, got[0].at.Sub(sent))
		sub.do("ok", "unsub %s", topic)
	}
	return lat
}

// TestProcessFirstMessage checks that a publisher's first message of a
// topic reaches a subscribed process with no wait for interest or
// agreement.
func TestProcessFirstMessage(t *testing.T) {
	if !netns(t) {
		return
	}
	pub, sub := startAgent(t, "publisher"), startAgent(t, "subscriber")
	lat := firstDeliveries(t, pub, sub, "first.v1", 20)
	slices.Sort(lat)
	t.Logf("first publish to remote delivery over 20 new topics: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
}

// BenchmarkProcessFirstDelivery measures, between two processes, the time
// from the first publish of a topic never used before to its delivery at a
// process already subscribed (p50, p99).
func BenchmarkProcessFirstDelivery(b *testing.B) {
	if !netns(b) {
		return
	}
	pub, sub := startAgent(b, "publisher"), startAgent(b, "subscriber")
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		lat = append(lat, firstDeliveries(b, pub, sub, fmt.Sprintf("bench.v1.I%d", i), 1)...)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
