package plexonats_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/plexonats"
)

var (
	int64Topic  = plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Count.proto")
	stringTopic = plexo.NewTopic[*wrapperspb.StringValue]("test.v1.Greeting.proto")
)

// startServer starts an embedded NATS server on loopback, on port (-1 for
// a random one), and shuts it down when the test ends.
func startServer(t testing.TB, port int, configure ...func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true}
	for _, c := range configure {
		c(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// startCluster starts n servers routed to each other on loopback.
func startCluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	var seed *url.URL
	servers := make([]*server.Server, 0, n)
	for i := range n {
		s := startServer(t, -1, func(o *server.Options) {
			o.ServerName = fmt.Sprintf("s%d", i)
			o.Cluster = server.ClusterOpts{Name: "plexo", Host: "127.0.0.1", Port: -1, PoolSize: -1}
			if seed != nil {
				o.Routes = []*url.URL{seed}
			}
		})
		if seed == nil {
			seed = &url.URL{Scheme: "nats-route", Host: s.ClusterAddr().String()}
		}
		servers = append(servers, s)
	}
	eventually(t, "the cluster forms", func() bool {
		for _, s := range servers {
			if s.NumRoutes() != n-1 {
				return false
			}
		}
		return true
	})
	return servers
}

// connect opens a NATS connection that the test closes at its end.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPlexus(t testing.TB, opts ...plexo.PlexusOption) *plexo.Plexus {
	t.Helper()
	p := plexo.New(append([]plexo.PlexusOption{plexo.WithLogger(discardLogger()), plexo.WithDescriptorSharing(false)}, opts...)...)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// attach attaches a new NATS transport over nc to p.
func attach(t testing.TB, p *plexo.Plexus, nc *nats.Conn, opts ...plexonats.Option) *plexonats.Transport {
	t.Helper()
	tr, err := plexonats.New(nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

var (
	waitForInterest = plexotest.WaitForInterest
	eventually      = plexotest.Eventually
)

type collector[T any] = plexotest.Collector[T]

func subscribeInt64(t testing.TB, p *plexo.Plexus, opts ...plexo.SubscribeOption) (*collector[int64], *plexo.Subscription) {
	t.Helper()
	c := &collector[int64]{}
	s, err := int64Topic.Subscribe(context.Background(), p, func(_ context.Context, m *wrapperspb.Int64Value) { c.Add(m.Value) }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func publishInt64(t testing.TB, p *plexo.Plexus, values ...int64) {
	t.Helper()
	for _, v := range values {
		if err := int64Topic.Publish(context.Background(), p, wrapperspb.Int64(v)); err != nil {
			t.Fatal(err)
		}
	}
}

func seq(from, n int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = from + int64(i)
	}
	return s
}

// within polls cond for up to d.
func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// interestHost is a plexo.Host that records the distances a transport
// reports.
type interestHost struct {
	mu      sync.Mutex
	reports map[string][]int
}

func newInterestHost() *interestHost { return &interestHost{reports: make(map[string][]int)} }

func (*interestHost) Deliver(*plexo.Message) {}
func (*interestHost) Logger() *slog.Logger   { return discardLogger() }
func (*interestHost) ID() uint64             { return 0x5eed }

func (h *interestHost) SetInterest(topic string, hops int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports[topic] = append(h.reports[topic], hops)
}

// hops returns the distance last reported for topic, 0 if none.
func (h *interestHost) hops(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.reports[topic]; len(r) > 0 {
		return r[len(r)-1]
	}
	return 0
}

// history returns every distance reported for topic, in order.
func (h *interestHost) history(topic string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reports[topic])
}
