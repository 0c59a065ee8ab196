package plexoprom_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/contrib/plexoprom"
	"github.com/plexo-go/plexo/runtime/multicast"
)

func newMulticastNode(t *testing.T) (*plexo.Plexus, *multicast.Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p := plexo.New()
	if err := p.Attach(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, m
}

// TestMulticastTransport runs in a private network namespace (see netns).
func TestMulticastTransport(t *testing.T) {
	if !netns(t) {
		return
	}
	ctx := context.Background()
	pub, pm := newMulticastNode(t)
	sub, _ := newMulticastNode(t)
	a := topic("Multicast")
	got := make(chan struct{}, 1000)
	s, err := a.Subscribe(ctx, sub, func(context.Context, *wrapperspb.Int64Value) { got <- struct{}{} },
		plexo.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "the peers to hear each other", func() bool { return pm.Stats().Peers == 2 })
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pub.WaitForInterest(wctx, a.Name()); err != nil {
		t.Fatal(err)
	}
	// Publish until the first message arrives (joins take a moment), then
	// a fixed number more.
	sent := 0
	waitFor(t, "a first delivery", func() bool {
		if err := a.Publish(ctx, pub, wrapperspb.Int64(int64(sent))); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(5 * time.Millisecond)
		return len(got) > 0
	})
	const more = 20
	for i := range more {
		if err := a.Publish(ctx, pub, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	sent += more

	mfs := scrape(t, register(t, plexoprom.NewCollector(pub, plexoprom.WithTransport("multicast", pm))))
	st := pm.Stats()
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"plexo_transport_peers", float64(st.Peers - 1)}, // this node left out
		{"plexo_transport_sent_messages_total", float64(sent)},
		{"plexo_transport_groups", float64(st.Groups)},
		{"plexo_transport_receive_buffer_bytes", float64(st.ReceiveBuffer)},
		{"plexo_transport_relocations_total", float64(st.Relocations)},
		{"plexo_transport_send_errors_total", float64(st.SendErrors)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustValue(t, mfs, tc.name, "transport", "multicast"); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := mustValue(t, mfs, "plexo_transport_peers", "transport", "multicast"); got != 1 {
		t.Errorf("peers: got %v, want 1", got)
	}
	for _, name := range []string{"plexo_transport_naks_sent_total", "plexo_transport_gaps_total", "plexo_transport_datagrams_sent_total", "plexo_transport_assignments"} {
		if _, ok := value(mfs, name, "transport", "multicast"); !ok {
			t.Errorf("no series %s", name)
		}
	}
	t.Logf("multicast metrics checked after %d messages", sent)
}
