package plexoprom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/contrib/plexoprom"
	"github.com/plexo-go/plexo/runtime/pipe"
	"github.com/plexo-go/plexo/runtime/tcp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func topic(name string) plexo.Topic[*wrapperspb.Int64Value] {
	return plexo.NewTopic[*wrapperspb.Int64Value]("test.v1." + name + ".proto")
}

// scrape serves reg on a loopback HTTP server, fetches /metrics once and
// parses it with the Prometheus text parser.
func scrape(t testing.TB, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux) // 127.0.0.1:0
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for the text format, which is what the parser reads.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	srv.Client().CloseIdleConnections()
	return mfs
}

// value returns the value of the series of family name whose labels include
// all of labels (name, value pairs), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t testing.TB, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := value(mfs, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func register(t testing.TB, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	// A pedantic registry checks that what Collect sends matches Describe.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return reg
}

// waitFor polls cond for up to 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCountersMatchPublished(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	a, b := topic("A"), topic("B")

	var mu sync.Mutex
	var sum int64
	for range 2 {
		sub, err := a.Subscribe(ctx, p, func(_ context.Context, m *wrapperspb.Int64Value) {
			mu.Lock()
			sum += m.GetValue()
			mu.Unlock()
		}, plexo.WithOverflow(plexo.OverflowBlock))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
	}
	const n = 100
	for i := range n {
		if err := a.Publish(ctx, p, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n / 2 {
		if err := b.Publish(ctx, p, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "deliveries", func() bool { return p.Stats().Topics[a.Name()].Delivered == 2*n })

	mfs := scrape(t, register(t, plexoprom.NewCollector(p)))
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"plexo_messages_published_total", []string{"topic", a.Name()}, n},
		{"plexo_messages_delivered_total", []string{"topic", a.Name()}, 2 * n},
		{"plexo_messages_published_total", []string{"topic", b.Name()}, n / 2},
		{"plexo_messages_delivered_total", []string{"topic", b.Name()}, 0},
		{"plexo_messages_received_total", []string{"topic", a.Name()}, 0},
		{"plexo_messages_forwarded_total", []string{"topic", a.Name()}, 0},
		{"plexo_messages_dropped_total", []string{"topic", a.Name(), "reason", "subscription"}, 0},
		{"plexo_decode_errors_total", []string{"topic", a.Name()}, 0},
		{"plexo_handler_panics_total", []string{"topic", a.Name()}, 0},
		{"plexo_subscriptions", []string{"topic", a.Name()}, 2},
		{"plexo_subscriptions", []string{"topic", b.Name()}, 0},
		{"plexo_topics", nil, float64(len(p.Stats().Topics))},
		{"plexo_topics_folded", nil, 0},
		{"plexo_duplicates_total", nil, 0},
		{"plexo_unrouted_total", nil, 0},
		{"plexo_handoff_errors_total", nil, 0},
		{"plexo_directory_rejected_total", nil, 0},
	} {
		t.Run(fmt.Sprint(tc.name, tc.labels), func(t *testing.T) {
			if got := mustValue(t, mfs, tc.name, tc.labels...); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := mfs["plexo_messages_published_total"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("plexo_messages_published_total is a %v, want a counter", got)
	}
	if got := mfs["plexo_subscriptions"].GetType(); got != dto.MetricType_GAUGE {
		t.Errorf("plexo_subscriptions is a %v, want a gauge", got)
	}
	if _, ok := mfs["plexo_messages_published_total"]; ok && mfs["plexo_messages_published_total"].GetHelp() == "" {
		t.Error("plexo_messages_published_total has no help text")
	}
	// plexo's own topics have series too, outside the bound.
	for name := range p.Stats().Topics {
		if plexo.ReservedTopic(name) {
			mustValue(t, mfs, "plexo_messages_published_total", "topic", name)
		}
	}
	for name, mf := range mfs {
		if mf.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
	}
}

func TestDropsHaveReason(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	a := topic("Slow")
	release := make(chan struct{})
	sub, err := a.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { <-release },
		plexo.WithQueueSize(1), plexo.WithOverflow(plexo.OverflowDropNewest))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := a.Publish(ctx, p, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	waitFor(t, "the queue to drain", func() bool {
		st := sub.Stats()
		return st.Delivered+st.Dropped == 20
	})
	want := float64(sub.Stats().Dropped)
	if want == 0 {
		t.Fatal("nothing dropped")
	}
	sub.Close()
	mfs := scrape(t, register(t, plexoprom.NewCollector(p)))
	if got := mustValue(t, mfs, "plexo_messages_dropped_total", "topic", a.Name(), "reason", "subscription"); got != want {
		t.Errorf("dropped: got %v, want %v", got, want)
	}
}

func TestTopicLabelBounded(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	c := plexoprom.NewCollector(p, plexoprom.WithMaxTopics(3))
	reg := register(t, c)

	// Topics B..F with 1..5 messages: B, C, D get series of their own (the
	// first three by name), E and F are summed into _other.
	for i, name := range []string{"B", "C", "D", "E", "F"} {
		for range i + 1 {
			if err := topic(name).Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, mfs map[string]*dto.MetricFamily, own map[string]float64, other, folded float64) {
		t.Helper()
		if n := userSeries(mfs, "plexo_messages_published_total"); n != len(own)+1 {
			t.Errorf("%d published series, want %d", n, len(own)+1)
		}
		for name, want := range own {
			if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", topic(name).Name()); got != want {
				t.Errorf("%s: got %v, want %v", name, got, want)
			}
		}
		if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", plexoprom.OtherTopic); got != other {
			t.Errorf("_other: got %v, want %v", got, other)
		}
		if got := mustValue(t, mfs, "plexo_topics_folded"); got != folded {
			t.Errorf("folded: got %v, want %v", got, folded)
		}
		if n := userSeries(mfs, "plexo_messages_dropped_total"); n != len(own)+1 {
			t.Errorf("%d dropped series, want %d", n, len(own)+1)
		}
	}
	check(t, scrape(t, reg), map[string]float64{"B": 1, "C": 2, "D": 3}, 4+5, 2)

	// A topic that sorts first arrives later: the admitted ones keep their
	// series, so no counter jumps between series, and the newcomer is
	// folded.
	for range 7 {
		if err := topic("A").Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := topic("B").Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
		t.Fatal(err)
	}
	mfs := scrape(t, reg)
	check(t, mfs, map[string]float64{"B": 2, "C": 2, "D": 3}, 4+5+7, 3)
	if _, ok := value(mfs, "plexo_messages_published_total", "topic", topic("A").Name()); ok {
		t.Error("topic A has its own series past the bound")
	}
	if got, want := mustValue(t, mfs, "plexo_topics"), 6+reserved(p); got != want {
		t.Errorf("plexo_topics: got %v, want %v", got, want)
	}
}

func TestDefaultMaxTopics(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	n := plexoprom.DefaultMaxTopics + 5
	for i := range n {
		if err := topic(fmt.Sprintf("T%05d", i)).Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
			t.Fatal(err)
		}
	}
	// WithMaxTopics(0) is out of range and keeps the default.
	mfs := scrape(t, register(t, plexoprom.NewCollector(p, plexoprom.WithMaxTopics(0))))
	if got := userSeries(mfs, "plexo_messages_published_total"); got != plexoprom.DefaultMaxTopics+1 {
		t.Errorf("%d series, want %d", got, plexoprom.DefaultMaxTopics+1)
	}
	if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", plexoprom.OtherTopic); got != 5 {
		t.Errorf("_other: got %v, want 5", got)
	}
}

func TestTCPTransport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, sub := plexo.New(), plexo.New()
	defer pub.Close()
	defer sub.Close()
	l, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Attach(l); err != nil {
		t.Fatal(err)
	}
	d, err := tcp.Dial(ctx, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Attach(d); err != nil {
		t.Fatal(err)
	}
	a := topic("Remote")
	got := make(chan struct{}, 100)
	s, err := a.Subscribe(ctx, sub, func(context.Context, *wrapperspb.Int64Value) { got <- struct{}{} },
		plexo.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := pub.WaitForInterest(ctx, a.Name()); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if err := a.Publish(ctx, pub, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}

	pubMetrics := scrape(t, register(t, plexoprom.NewCollector(pub, plexoprom.WithTransport("tcp", l))))
	subMetrics := scrape(t, register(t, plexoprom.NewCollector(sub, plexoprom.WithTransport("tcp", d))))
	st := l.Stats()
	for _, tc := range []struct {
		mfs    map[string]*dto.MetricFamily
		name   string
		labels []string
		want   float64
	}{
		{pubMetrics, "plexo_transport_sent_messages_total", []string{"transport", "tcp"}, n},
		{pubMetrics, "plexo_transport_peers", []string{"transport", "tcp"}, 1},
		{pubMetrics, "plexo_transport_queued_messages", []string{"transport", "tcp"}, 0},
		{pubMetrics, "plexo_transport_dropped_messages_total", []string{"transport", "tcp"}, 0},
		{pubMetrics, "plexo_transport_connects_total", []string{"transport", "tcp"}, 1},
		{pubMetrics, "plexo_messages_forwarded_total", []string{"topic", a.Name()}, n},
		{pubMetrics, "plexo_messages_published_total", []string{"topic", a.Name()}, n},
		{subMetrics, "plexo_transport_received_messages_total", []string{"transport", "tcp"}, n},
		{subMetrics, "plexo_messages_received_total", []string{"topic", a.Name()}, n},
		{subMetrics, "plexo_messages_delivered_total", []string{"topic", a.Name()}, n},
	} {
		t.Run(fmt.Sprint(tc.name, tc.labels), func(t *testing.T) {
			if got := mustValue(t, tc.mfs, tc.name, tc.labels...); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Bytes are read at the scrape, the Stats a moment later: heartbeats
	// may add some between the two.
	sent := mustValue(t, pubMetrics, "plexo_transport_sent_bytes_total", "transport", "tcp")
	if sent <= 0 || sent > float64(st.BytesSent) {
		t.Errorf("sent bytes %v, want in (0, %d]", sent, st.BytesSent)
	}
	if recv := mustValue(t, subMetrics, "plexo_transport_received_bytes_total", "transport", "tcp"); recv <= 0 {
		t.Errorf("received bytes %v, want > 0", recv)
	}
}

// fakeStats stands for a transport this package does not know, such as
// plexonats.
type fakeStats struct {
	embedded
	Sent        uint64
	RemotePeers int
	NAKsSent    uint64
	Backlog     int
	Latency     time.Duration
	Ratio       float64
	LastError   error
	Name        string
	Topics      []string
	unexported  uint64
}

type embedded struct {
	BytesSent uint64
	Gaps      uint64
}

type fake struct{ st fakeStats }

func (f *fake) Stats() fakeStats { return f.st }

type fakePtr struct{ st *fakeStats }

func (f fakePtr) Stats() *fakeStats { return f.st }

type notStruct struct{}

func (notStruct) Stats() uint64 { return 1 }

func TestGenericTransport(t *testing.T) {
	p := plexo.New()
	defer p.Close()
	st := fakeStats{
		embedded:    embedded{BytesSent: 1000, Gaps: 3},
		Sent:        10,
		RemotePeers: 2,
		NAKsSent:    4,
		Backlog:     5,
		Latency:     1500 * time.Millisecond,
		Ratio:       0.25,
		unexported:  9,
	}
	c := plexoprom.NewCollector(p,
		plexoprom.WithTransport("x", &fake{st}),
		plexoprom.WithTransport("y", fakePtr{&st}),
		plexoprom.WithTransport("none", fakePtr{}), // a nil result: nothing
		plexoprom.WithTransport("n", notStruct{}),  // not a struct: no effect
		plexoprom.WithTransport("", &fake{st}),     // no name: no effect
		plexoprom.WithTransport("nil", (*fake)(nil)),
	)
	mfs := scrape(t, register(t, c))
	for _, transport := range []string{"x", "y"} {
		for _, tc := range []struct {
			name string
			typ  dto.MetricType
			want float64
		}{
			{"plexo_transport_sent_messages_total", dto.MetricType_COUNTER, 10},
			{"plexo_transport_sent_bytes_total", dto.MetricType_COUNTER, 1000},
			{"plexo_transport_gaps_total", dto.MetricType_COUNTER, 3},
			{"plexo_transport_peers", dto.MetricType_GAUGE, 2},
			{"plexo_transport_naks_sent_total", dto.MetricType_COUNTER, 4},
			{"plexo_transport_backlog", dto.MetricType_GAUGE, 5},
			{"plexo_transport_latency_seconds", dto.MetricType_GAUGE, 1.5},
			{"plexo_transport_ratio", dto.MetricType_GAUGE, 0.25},
		} {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				if got := mustValue(t, mfs, tc.name, "transport", transport); got != tc.want {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				if got := mfs[tc.name].GetType(); got != tc.typ {
					t.Errorf("type %v, want %v", got, tc.typ)
				}
				if n := len(mfs[tc.name].GetMetric()); n != 2 {
					t.Errorf("%d series, want 2 (x and y)", n)
				}
			})
		}
	}
	if _, ok := mfs["plexo_transport_unexported_total"]; ok {
		t.Error("an unexported field became a metric")
	}
}

func TestTransportNameReplaces(t *testing.T) {
	p := plexo.New()
	defer p.Close()
	c := plexoprom.NewCollector(p,
		plexoprom.WithTransport("x", &fake{fakeStats{Sent: 1}}),
		plexoprom.WithTransport("x", &fake{fakeStats{Sent: 2}}),
	)
	mfs := scrape(t, register(t, c))
	if got := mustValue(t, mfs, "plexo_transport_sent_messages_total", "transport", "x"); got != 2 {
		t.Errorf("got %v, want 2 (the later option)", got)
	}
}

func TestLint(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	e1, e2 := pipe.New()
	defer e2.Close()
	if err := p.Attach(e1); err != nil {
		t.Fatal(err)
	}
	l, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(l); err != nil {
		t.Fatal(err)
	}
	if err := topic("A").Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
		t.Fatal(err)
	}
	c := plexoprom.NewCollector(p,
		plexoprom.WithTransport("pipe", e1),
		plexoprom.WithTransport("tcp", l),
		plexoprom.WithTransport("fake", &fake{}))
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s", pr.Metric, pr.Text)
	}
	mfs := scrape(t, register(t, c))
	for name := range mfs {
		if len(name) < 6 || name[:6] != "plexo_" {
			t.Errorf("metric %s does not start with plexo_", name)
		}
	}
	if got := mustValue(t, mfs, "plexo_transport_sent_messages_total", "transport", "pipe"); got != 0 {
		t.Errorf("pipe sent %v, want 0", got)
	}
}

func TestCollectWhilePublishing(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	c := plexoprom.NewCollector(p, plexoprom.WithMaxTopics(4))
	reg := register(t, c)

	const publishers, perPublisher = 4, 2000
	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			// Each publisher uses two topics of its own, some past the bound.
			own := []plexo.Topic[*wrapperspb.Int64Value]{topic(fmt.Sprint("P", g, "a")), topic(fmt.Sprint("P", g, "b"))}
			for i := range perPublisher {
				if err := own[i%2].Publish(ctx, p, wrapperspb.Int64(int64(i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var scrapers sync.WaitGroup
	for range 2 {
		scrapers.Go(func() {
			last := 0.0
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mfs, err := reg.Gather()
				if err != nil {
					t.Error(err)
					return
				}
				total := 0.0
				for _, m := range mfsByName(mfs, "plexo_messages_published_total").GetMetric() {
					total += m.GetCounter().GetValue()
				}
				if total < last {
					t.Errorf("published went down from %v to %v", last, total)
				}
				last = total
			}
		})
	}
	wg.Wait()
	close(stop)
	scrapers.Wait()

	mfs := scrape(t, reg)
	total := 0.0
	for _, m := range mfs["plexo_messages_published_total"].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	if total != publishers*perPublisher {
		t.Errorf("published: got %v, want %v", total, publishers*perPublisher)
	}
	if n := userSeries(mfs, "plexo_messages_published_total"); n != 5 {
		t.Errorf("%d series, want 4 topics and _other", n)
	}
}

func mfsByName(mfs []*dto.MetricFamily, name string) *dto.MetricFamily {
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// userSeries counts the series of family name, leaving out plexo's own
// topics.
func userSeries(mfs map[string]*dto.MetricFamily, name string) int {
	n := 0
	for _, m := range mfs[name].GetMetric() {
		user := true
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "topic" && plexo.ReservedTopic(lp.GetValue()) {
				user = false
			}
		}
		if user {
			n++
		}
	}
	return n
}

// reserved counts the topics of p that plexo reserves for itself.
func reserved(p *plexo.Plexus) float64 {
	n := 0
	for name := range p.Stats().Topics {
		if plexo.ReservedTopic(name) {
			n++
		}
	}
	return float64(n)
}

// rawTopic makes p hold an idle topic, which it forgets a minute later or
// at once past a few thousand idle ones, that published n messages.
func rawTopic(t *testing.T, p *plexo.Plexus, name string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := p.SubscribeRaw(ctx, name, func(context.Context, *plexo.RawMessage) {})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := p.PublishRaw(ctx, name, []byte{8, 1}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
}

func TestForgottenTopics(t *testing.T) {
	p := plexo.New()
	defer p.Close()
	reg := register(t, plexoprom.NewCollector(p, plexoprom.WithMaxTopics(2)))
	// z.v1.T0 and T1 get series of their own, T2 to T4 are folded.
	for i := range 5 {
		rawTopic(t, p, fmt.Sprintf("z.v1.T%d.proto", i), 10)
	}
	mfs := scrape(t, reg)
	if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", plexoprom.OtherTopic); got != 30 {
		t.Fatalf("_other: got %v, want 30", got)
	}

	// Thousands of idle topics make the Plexus forget the z ones.
	for i := range 4200 {
		rawTopic(t, p, fmt.Sprintf("y.v1.T%04d.proto", i), 0)
	}
	if _, ok := p.Stats().Topics["z.v1.T4.proto"]; ok {
		t.Fatal("the Plexus still has z.v1.T4; the test needs it forgotten")
	}
	mfs = scrape(t, reg)
	if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", plexoprom.OtherTopic); got != 30 {
		t.Errorf("_other after the folded topics were forgotten: got %v, want still 30", got)
	}
	if _, ok := value(mfs, "plexo_messages_published_total", "topic", "z.v1.T0.proto"); ok {
		t.Error("a forgotten topic still has a series")
	}
	// Their places went to two live topics.
	if got := userSeries(mfs, "plexo_messages_published_total"); got != 3 {
		t.Errorf("%d series, want 2 topics and _other", got)
	}
	live := float64(len(p.Stats().Topics)) - reserved(p)
	if got := mustValue(t, mfs, "plexo_topics_folded"); got != live-2 {
		t.Errorf("folded: got %v, want %v", got, live-2)
	}

	// A new topic is folded, and adds to _other. (It makes the Plexus forget
	// the oldest idle topic, which had a series: the place goes to the next
	// y topic by name.)
	rawTopic(t, p, "zz.v1.New.proto", 5)
	mfs = scrape(t, reg)
	if got := mustValue(t, mfs, "plexo_messages_published_total", "topic", plexoprom.OtherTopic); got != 35 {
		t.Errorf("_other: got %v, want 35", got)
	}
}
