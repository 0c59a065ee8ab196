package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
	"github.com/plexo-go/plexo/runtime/pipe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// bench is a publishing Plexus piped to the page's Plexus, with the page
// served by httptest.
type bench struct {
	pub *plexo.Plexus
	srv *Server
	ts  *httptest.Server
	// notes receives the notes the publisher's side gets.
	notes chan *plexotestv1.Note
}

// newBench starts the server with cfg and a publisher of a reading every
// 5 ms until the test ends.
func newBench(t testing.TB, cfg Config) *bench {
	t.Helper()
	a, b := pipe.New()
	pub, view := plexo.New(), plexo.New()
	if err := pub.Attach(a); err != nil {
		t.Fatal(err)
	}
	if err := view.Attach(b); err != nil {
		t.Fatal(err)
	}
	cfg.Transports = append(cfg.Transports, Transport{Name: "pipe", Transport: b})
	if cfg.Interval == 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	srv, err := New(t.Context(), view, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bn := &bench{pub: pub, srv: srv, ts: httptest.NewServer(srv), notes: make(chan *plexotestv1.Note, 16)}
	sub, err := plexotestv1.NoteTopic.Subscribe(t.Context(), pub, func(_ context.Context, n *plexotestv1.Note) {
		select {
		case bn.notes <- n:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := uint64(0); i < 100000; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = plexotestv1.PublishReading(ctx, pub, testpb.Reading(i))
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		bn.ts.Close()
		srv.Close()
		sub.Close()
		pub.Close()
		view.Close()
	})
	return bn
}

// event is one Server-Sent Event.
type event struct {
	name string
	data []byte
}

// stream opens /events with query and returns its events; the stream
// closes at the end of the test or when cancel is called.
func (bn *bench) stream(t *testing.T, query string) (<-chan event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, bn.ts.URL+"/events"+query, nil)
	res, err := bn.ts.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET /events%s: %s, %s", query, res.Status, res.Header.Get("Content-Type"))
	}
	ch := make(chan event, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(strings.TrimPrefix(line, "data: "))
			case line == "":
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
				ev = event{}
			}
		}
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return ch, stop
}

// next returns the next event named name within limit.
func next(t *testing.T, ch <-chan event, name string, limit time.Duration) event {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before a %q event", name)
			}
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within %v", name, limit)
		}
	}
}

func TestEventsRatesAndMessages(t *testing.T) {
	bn := newBench(t, Config{})
	waitTopic(t, bn.srv, plexotestv1.ReadingTopicName)
	ch, _ := bn.stream(t, "?topic="+plexotestv1.ReadingTopicName)

	// The topic appears with its type, then ticks give it a rate near 200/s.
	var topics topicsEvent
	index := -1
	deadline := time.Now().Add(10 * time.Second)
	for index < 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reading topic did not appear")
		}
		ev := next(t, ch, "topics", 10*time.Second)
		if err := json.Unmarshal(ev.data, &topics); err != nil {
			t.Fatal(err)
		}
		for i, row := range topics.Topics {
			if row.Topic == plexotestv1.ReadingTopicName {
				index = i
				if row.Message != "plexotest.v1.Reading" || row.Codec != "proto" || row.Publishers != 1 {
					t.Errorf("row %+v: want type plexotest.v1.Reading, codec proto, 1 publisher", row)
				}
				if len(row.History) != historyLen {
					t.Errorf("history of %d samples, want %d", len(row.History), historyLen)
				}
			}
		}
	}
	var rate float64
	for range 20 {
		var tick tickEvent
		if err := json.Unmarshal(next(t, ch, "tick", 5*time.Second).data, &tick); err != nil {
			t.Fatal(err)
		}
		for _, r := range tick.Rows {
			if tick.Version == topics.Version && int(r[0]) == index {
				rate = r[1]
			}
		}
		if rate > 0 {
			break
		}
	}
	// A reading every 5 ms is 200/s at most; timers on a busy machine
	// give less.
	if rate <= 0 || rate > 250 {
		t.Errorf("rate %v msgs/s, want (0, 250]", rate)
	}

	// Messages come decoded, newest first, equal to what was published.
	var got int
	for got == 0 {
		var msgs messagesEvent
		if err := json.Unmarshal(next(t, ch, "messages", 5*time.Second).data, &msgs); err != nil {
			t.Fatal(err)
		}
		if len(msgs.Messages) > ringLen {
			t.Fatalf("%d messages in one event, more than the ring's %d", len(msgs.Messages), ringLen)
		}
		for i, m := range msgs.Messages {
			if m.Error != "" {
				t.Fatalf("message %d: %s", i, m.Error)
			}
			r := new(plexotestv1.Reading)
			if err := protojson.Unmarshal([]byte(m.JSON), r); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if want := testpb.Reading(r.GetSeq()); !proto.Equal(r, want) {
				t.Errorf("message %d is %v, want %v", i, r, want)
			}
			if i > 0 && m.Seq >= msgs.Messages[i-1].Seq {
				t.Errorf("not newest first: %d after %d", m.Seq, msgs.Messages[i-1].Seq)
			}
			if m.Size != len(mustMarshal(t, r)) || m.Origin != originString(bn.pub.ID()) {
				t.Errorf("message %d: size %d, origin %s; want %d, %s", i, m.Size, m.Origin, len(mustMarshal(t, r)), originString(bn.pub.ID()))
			}
			got++
		}
	}

	// The System panel lists the transport; a new viewer gets it first.
	ch2, _ := bn.stream(t, "")
	var sys systemEvent
	if err := json.Unmarshal(next(t, ch2, "system", 5*time.Second).data, &sys); err != nil {
		t.Fatal(err)
	}
	if len(sys.Transports) != 1 || sys.Transports[0].Name != "pipe" {
		t.Errorf("system transports %+v, want the pipe", sys.Transports)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHardening(t *testing.T) {
	bn := newBench(t, Config{})
	big := `{"topic":"plexotest.v1.Note.json","message":{"text":"` + strings.Repeat("x", maxBody) + `"}}`
	for _, tc := range []struct {
		method, path, body, contentType string
		want                            int
	}{
		{"GET", "/", "", "", 200},
		{"HEAD", "/", "", "", 200},
		{"GET", "/app.js", "", "", 200},
		{"GET", "/app.css", "", "", 200},
		{"GET", "/nope", "", "", 404},
		{"GET", "/assets/index.html", "", "", 404},
		{"GET", "/metrics", "", "", 404}, // no collector configured
		{"POST", "/", "", "", 405},
		{"PUT", "/events", "", "", 405},
		{"DELETE", "/api/publish", "", "", 405},
		{"GET", "/api/publish", "", "", 405},
		{"GET", "/events?topic=not..valid", "", "", 400},
		{"GET", "/events?topic=a.b&x=1", "", "", 400},
		{"GET", "/events?x=1", "", "", 400},
		{"GET", "/app.js?x=1", "", "", 400},
		{"GET", "/api/template?topic=", "", "", 400},
		{"GET", "/api/template?topic=no.such.Topic.proto", "", "", 404},
		{"POST", "/api/publish", `{"topic":"plexotest.v1.Note.json","message":{}}`, "application/json", 403},
		{"POST", "/api/publish", big, "application/json", 403},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, bn.ts.URL+tc.path, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			res, err := bn.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no X-Content-Type-Options: nosniff")
			}
		})
	}

	t.Run("malformed request line", func(t *testing.T) {
		conn, err := net.Dial("tcp", bn.ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if !strings.Contains(line, " 400 ") {
			t.Errorf("answer %q, want 400", line)
		}
	})
}

func TestPublish(t *testing.T) {
	bn := newBench(t, Config{AllowPublish: true})
	// The directory must know the note topic: the publisher subscribes to it.
	waitTopic(t, bn.srv, plexotestv1.NoteTopicName)

	post := func(body, contentType string, header ...string) int {
		req, _ := http.NewRequest("POST", bn.ts.URL+"/api/publish", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := bn.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	const note = plexotestv1.NoteTopicName
	for _, tc := range []struct {
		name, body, contentType string
		header                  []string
		want                    int
	}{
		{"too large", `{"topic":"` + note + `","message":{"text":"` + strings.Repeat("x", maxBody) + `"}}`, "application/json", nil, 413},
		{"not JSON", `{"topic":`, "application/json", nil, 400},
		{"two values", `{"topic":"` + note + `","message":{}} {}`, "application/json", nil, 400},
		{"unknown field", `{"topic":"` + note + `","message":{},"x":1}`, "application/json", nil, 400},
		{"no message", `{"topic":"` + note + `"}`, "application/json", nil, 400},
		{"bad topic", `{"topic":"x","message":{}}`, "application/json", nil, 400},
		{"reserved topic", `{"topic":"plexo.v1.Directory.proto","message":{}}`, "application/json", nil, 400},
		{"wrong field", `{"topic":"` + note + `","message":{"nope":1}}`, "application/json", nil, 400},
		{"not JSON content", `{"topic":"` + note + `","message":{}}`, "text/plain", nil, 415},
		{"cross-origin", `{"topic":"` + note + `","message":{}}`, "application/json", []string{"Origin", "http://evil.example"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.body, tc.contentType, tc.header...); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	select {
	case n := <-bn.notes:
		t.Fatalf("a refused request published %v", n)
	default:
	}

	res, err := bn.ts.Client().Get(bn.ts.URL + "/api/template?topic=" + note)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var empty plexotestv1.Note
	if res.StatusCode != 200 || protojson.Unmarshal(tmpl, &empty) != nil || !strings.Contains(string(tmpl), `"text"`) {
		t.Fatalf("template: %d %s", res.StatusCode, tmpl)
	}

	if got := post(`{"topic":"`+note+`","message":{"text":"hi","seq":"7"}}`, "application/json", "Origin", bn.ts.URL); got != 200 {
		t.Fatalf("publish: status %d", got)
	}
	select {
	case n := <-bn.notes:
		if n.GetText() != "hi" || n.GetSeq() != 7 {
			t.Errorf("published %v, want text hi, seq 7", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the note did not arrive")
	}
}

// waitTopic waits until srv lists topic.
func waitTopic(t testing.TB, srv *Server, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.mu.Lock()
		found := false
		for _, ti := range srv.list {
			found = found || ti.Topic == topic
		}
		srv.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listed within 10s", topic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestViewersLeaveNothing checks that viewers that go away, mid-stream,
// leave no subscription or goroutine behind (goleak in TestMain checks the
// goroutines at the end).
func TestViewersLeaveNothing(t *testing.T) {
	bn := newBench(t, Config{})
	for range 10 {
		ch, stop := bn.stream(t, "?topic="+plexotestv1.ReadingTopicName)
		next(t, ch, "messages", 5*time.Second)
		stop()
	}
	deadline := time.Now().Add(5 * time.Second)
	for bn.srv.watched() != 0 || bn.srv.viewers.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the viewers left: %d topics watched, %d viewers", bn.srv.watched(), bn.srv.viewers.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHundredViewers(t *testing.T) {
	bn := newBench(t, Config{})
	waitTopic(t, bn.srv, plexotestv1.ReadingTopicName)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		query := ""
		if i%2 == 0 {
			query = "?topic=" + plexotestv1.ReadingTopicName
		}
		ch, _ := bn.stream(t, query)
		wg.Go(func() {
			want := map[string]bool{"topics": true, "tick": true, "system": true}
			if query != "" {
				want["messages"] = true
			}
			deadline := time.After(15 * time.Second)
			for len(want) > 0 {
				select {
				case ev, ok := <-ch:
					if !ok {
						errs <- fmt.Errorf("viewer %d: stream ended", i)
						return
					}
					delete(want, ev.name)
				case <-deadline:
					errs <- fmt.Errorf("viewer %d: no %v events", i, want)
					return
				}
			}
			// A second tick: the stream goes on.
			for ev := range ch {
				if ev.name == "tick" {
					return
				}
			}
			errs <- fmt.Errorf("viewer %d: stream ended", i)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v := bn.srv.viewers.Load(); v != n {
		t.Errorf("%d viewers counted, want %d", v, n)
	}
}

func TestServerCloseEndsStreams(t *testing.T) {
	bn := newBench(t, Config{})
	ch, _ := bn.stream(t, "")
	next(t, ch, "tick", 5*time.Second)
	bn.srv.Close()
	for range ch {
	}
	bn.srv.Close() // again
}

func TestCountDoesNotAllocate(t *testing.T) {
	c := newCounters()
	m := &plexo.RawMessage{Topic: "a.b.proto", Payload: make([]byte, 100)}
	c.count(context.Background(), m)
	allocs := testing.AllocsPerRun(1000, func() { c.count(context.Background(), m) })
	if allocs != 0 {
		t.Errorf("count allocates %v times per message", allocs)
	}
	if got := c.get("a.b.proto"); got.msgs.Load() != 1002 || got.bytes.Load() != 100200 {
		t.Errorf("counted %d msgs, %d bytes; want 1002, 100200 (AllocsPerRun runs once more)", got.msgs.Load(), got.bytes.Load())
	}
}

func BenchmarkCount(b *testing.B) {
	c := newCounters()
	for i := range 1000 {
		c.add(fmt.Sprintf("t%d.x.proto", i))
	}
	m := &plexo.RawMessage{Topic: "t500.x.proto", Payload: make([]byte, 64)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.count(context.Background(), m)
		}
	})
}

// TestStreamOutlivesReadTimeout checks that an event stream goes on past
// the http.Server's ReadTimeout, as plexo ui sets one.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	bn := newBench(t, Config{})
	bn.ts.Close()
	bn.ts = httptest.NewUnstartedServer(bn.srv)
	bn.ts.Config.ReadTimeout = 300 * time.Millisecond
	bn.ts.Start()
	ch, _ := bn.stream(t, "")
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		next(t, ch, "tick", 2*time.Second)
	}
}

// TestDecodeErrorsShow checks that a message that does not decode shows as
// an error in the messages and is counted in the topic's row.
func TestDecodeErrorsShow(t *testing.T) {
	bn := newBench(t, Config{})
	waitTopic(t, bn.srv, plexotestv1.ReadingTopicName)
	ch, _ := bn.stream(t, "?topic="+plexotestv1.ReadingTopicName)
	next(t, ch, "messages", 5*time.Second)
	// Field 1 (sensor) says 5 bytes follow, and none do.
	if err := bn.pub.PublishRaw(t.Context(), plexotestv1.ReadingTopicName, []byte{0x0a, 0x05}); err != nil {
		t.Fatal(err)
	}
	var sawError, counted bool
	deadline := time.After(10 * time.Second)
	for !sawError || !counted {
		select {
		case ev := <-ch:
			switch ev.name {
			case "messages":
				var msgs messagesEvent
				if err := json.Unmarshal(ev.data, &msgs); err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs.Messages {
					sawError = sawError || (m.Error != "" && m.Size == 2 && m.JSON == "")
				}
			case "tick":
				var tick tickEvent
				if err := json.Unmarshal(ev.data, &tick); err != nil {
					t.Fatal(err)
				}
				for _, r := range tick.Rows {
					counted = counted || r[4] == 1
				}
			}
		case <-deadline:
			t.Fatalf("after 10s: error shown %v, counted %v", sawError, counted)
		}
	}
}

func TestWatchTakeDoesNotAllocate(t *testing.T) {
	w := &watch{topic: "a.b.proto"}
	m := &plexo.RawMessage{Topic: "a.b.proto", Payload: make([]byte, 100), Origin: 7}
	for range ringLen {
		w.take(context.Background(), m) // each slot gets its buffer
	}
	if allocs := testing.AllocsPerRun(1000, func() { w.take(context.Background(), m) }); allocs != 0 {
		t.Errorf("take allocates %v times per message", allocs)
	}
	es, newest := w.since(newestMinus(w, 3))
	if len(es) != 3 || newest != w.seq || es[0].seq != w.seq || es[2].seq != w.seq-2 || es[0].origin != 7 || len(es[0].buf) != 100 {
		t.Errorf("since: %d entries, newest %d (seq %d)", len(es), newest, w.seq)
	}
	if es, _ := w.since(0); len(es) != ringLen {
		t.Errorf("since(0) gives %d entries, want the ring's %d", len(es), ringLen)
	}
}

func newestMinus(w *watch, n uint64) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq - n
}
