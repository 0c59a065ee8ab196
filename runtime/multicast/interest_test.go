package multicast_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

// The agreement state machine keeps its own copy of the farthest distance
// a subscriber counts at, so as not to import the root package: it must be
// the root's.
func TestAgreeMaxHopsIsPlexos(t *testing.T) {
	if agree.MaxHops != plexo.MaxHops {
		t.Errorf("agree.MaxHops = %d, plexo.MaxHops = %d: HELLOs and the Plexus disagree on the farthest subscriber", agree.MaxHops, plexo.MaxHops)
	}
}

// hopsHost is a [plexo.Host] that records the interest its transport
// reports.
type hopsHost struct {
	id uint64
	mu sync.Mutex
	// hops is the last distance reported per topic.
	hops map[string]int
	ch   chan struct{}
}

func newHopsHost(id uint64) *hopsHost {
	return &hopsHost{id: id, hops: make(map[string]int), ch: make(chan struct{}, 1)}
}

func (h *hopsHost) Deliver(*plexo.Message) {}
func (h *hopsHost) Logger() *slog.Logger   { return slog.New(slog.DiscardHandler) }
func (h *hopsHost) ID() uint64             { return h.id }

func (h *hopsHost) SetInterest(topic string, hops int) {
	h.mu.Lock()
	h.hops[topic] = hops
	h.mu.Unlock()
	select {
	case h.ch <- struct{}{}:
	default:
	}
}

// get returns the topic's reported distance.
func (h *hopsHost) get(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hops[topic]
}

// wait waits until the topic's reported distance is want, or fails the test.
func (h *hopsHost) wait(t *testing.T, topic string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		got := h.hops[topic]
		h.mu.Unlock()
		if got == want {
			return
		}
		select {
		case <-h.ch:
		case <-deadline:
			t.Fatalf("%s: interest %d hops, want %d", topic, got, want)
		}
	}
}

func startHops(t *testing.T, id uint64) (*multicast.Transport, *hopsHost) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h := newHopsHost(id)
	if err := m.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, h
}

// TestInterestHops checks, over real sockets, that the hop counts peers
// advertise reach a transport's Host as their minimum over the live peers:
// changes of the minimum are reported, a peer that stops subscribing or
// goes away no longer counts, and the transport adds no hop of its own.
func TestInterestHops(t *testing.T) {
	if !netns(t) {
		return
	}
	topic := stringTopic.Name()
	const wait = 5 * time.Second
	_, watch := startHops(t, 1)
	far, _ := startHops(t, 2)
	near, _ := startHops(t, 3)

	far.Advertise(topic, 3)
	watch.wait(t, topic, 3, wait)
	near.Advertise(topic, 2)
	watch.wait(t, topic, 2, wait)
	near.Advertise(topic, 1)
	watch.wait(t, topic, 1, wait)
	near.Advertise(topic, 0)
	watch.wait(t, topic, 3, wait)
	near.Advertise(topic, 1)
	watch.wait(t, topic, 1, wait)
	near.Close() // gone without a word: three missed heartbeats
	watch.wait(t, topic, 3, wait)
	far.Advertise(topic, plexo.MaxHops+1) // out of range: no interest
	watch.wait(t, topic, 0, wait)
}
