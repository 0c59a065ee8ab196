package tcp_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// recorder is a slog.Handler that keeps every record at Debug and above.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}

// find returns the records with message msg, and their attributes.
func (r *recorder) find(msg string) []map[string]slog.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]slog.Value
	for _, rec := range r.records {
		if rec.Message != msg {
			continue
		}
		attrs := map[string]slog.Value{"level": slog.AnyValue(rec.Level)}
		rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		out = append(out, attrs)
	}
	return out
}

// freeAddr returns a loopback address nobody listens on, for now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestDialBeforeTheListener is issue 14's item 6: dialing a peer that is not
// up yet returns at once, logs (rate-limited, naming the address) that it
// keeps trying, and connects once the peer listens.
func TestDialBeforeTheListener(t *testing.T) {
	addr := freeAddr(t)
	rec := new(recorder)
	q := newPlexus(t, plexo.WithLogger(slog.New(rec)))

	start := time.Now()
	d, err := tcp.Dial(context.Background(), addr, tcp.WithBackoff(2*time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// At once: waiting for the peer would take forever here. A second
	// leaves room for a loaded machine's stalls.
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Dial took %v with nobody listening", el)
	}
	if err := q.Attach(d); err != nil {
		t.Fatal(err)
	}

	// Nobody listens: WaitConnected gives up with ctx, saying why.
	eventually(t, "a first attempt fails", func() bool { return d.Stats().LastError != nil })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = d.WaitConnected(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("WaitConnected = %v, want the deadline and the refused connection", err)
	}
	failed := rec.find("tcp: cannot connect, retrying in the background")
	if len(failed) != 1 {
		t.Fatalf("logged %d failed attempts in 300 ms, want 1 (rate-limited)", len(failed))
	}
	if lv := failed[0]["level"].Any().(slog.Level); lv < slog.LevelInfo {
		t.Fatalf("failed attempt logged at %v, below Info", lv)
	}
	if got := failed[0]["addr"].String(); got != addr {
		t.Fatalf("failed attempt logged addr %q, want %q", got, addr)
	}

	// The listener comes up: the dialer connects by itself.
	l, err := tcp.Listen(t.Context(), addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	p := newPlexus(t)
	if err := p.Attach(l); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitConnected(timeout(t)); err != nil {
		t.Fatalf("WaitConnected = %v", err)
	}
	// The dialer logs the connection just after WaitConnected can see it.
	eventually(t, "the connection is logged", func() bool { return len(rec.find("tcp: connected")) > 0 })
	ok := rec.find("tcp: connected")
	if len(ok) != 1 {
		t.Fatalf("logged %d connections, want 1", len(ok))
	}
	if lv := ok[0]["level"].Any().(slog.Level); lv != slog.LevelInfo {
		t.Fatalf("connection logged at %v, want Info", lv)
	}
	if got := ok[0]["addr"].String(); got != addr {
		t.Fatalf("connection logged addr %q, want %q", got, addr)
	}
	if n := ok[0]["failed_attempts"].Int64(); n < 2 {
		t.Fatalf("connection logged after %d failed attempts, want several", n)
	}
	if err := l.WaitConnected(timeout(t)); err != nil {
		t.Fatalf("listener WaitConnected = %v", err)
	}

	// Messages flow both ways.
	c := subscribeInt64(t, q)
	waitForInterest(t, p, int64Topic.Name())
	publish(t, p, 3)
	if got := c.WaitFor(t, 1); got[0] != 3 {
		t.Fatalf("received %v", got)
	}
}

// TestDialConnectsQuietly: a connection made at the first attempt is logged
// at Debug only.
func TestDialConnectsQuietly(t *testing.T) {
	p := newPlexus(t)
	l := listen(t, p)
	rec := new(recorder)
	q := newPlexus(t, plexo.WithLogger(slog.New(rec)))
	d := dial(t, q, l)
	if err := d.WaitConnected(timeout(t)); err != nil {
		t.Fatal(err)
	}
	// The connection is registered, which wakes WaitConnected, before it
	// is logged.
	eventually(t, "the connection is logged", func() bool { return len(rec.find("tcp: connected")) > 0 })
	ok := rec.find("tcp: connected")
	if len(ok) != 1 || ok[0]["level"].Any().(slog.Level) != slog.LevelDebug || ok[0]["failed_attempts"].Int64() != 0 {
		t.Fatalf("logged %v, want one connection at Debug after no failed attempts", ok)
	}
	if failed := rec.find("tcp: cannot connect, retrying in the background"); len(failed) != 0 {
		t.Fatalf("logged %d failed attempts, want none", len(failed))
	}
}

func TestWaitConnectedClosed(t *testing.T) {
	d, err := tcp.Dial(t.Context(), freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.WaitConnected(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, plexo.ErrClosed) {
		t.Fatalf("WaitConnected after Close = %v, want ErrClosed", err)
	}
}

func TestDialBadAddress(t *testing.T) {
	for _, addr := range []string{"", "localhost", "127.0.0.1:1:2"} {
		if d, err := tcp.Dial(t.Context(), addr); err == nil {
			d.Close()
			t.Errorf("Dial(%q) succeeded", addr)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := tcp.Dial(ctx, "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled ctx = %v, want context.Canceled", err)
	}
}
