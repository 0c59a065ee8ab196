package multicast_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast"
)

// failingJoins makes m's group joins fail while f runs, as they would with
// no file descriptor left. Setting the process's descriptor limit instead
// was flaky: a descriptor closed meanwhile elsewhere let a join through.
func failingJoins(m *multicast.Transport) (run func(f func())) {
	var failing atomic.Bool
	multicast.SetJoinHook(m, func() error {
		if failing.Load() {
			return syscall.EMFILE
		}
		return nil
	})
	return func(f func()) {
		failing.Store(true)
		defer failing.Store(false)
		f()
	}
}

// startFailingJoins is startHops with other options, and joins that fail
// inside the function it returns.
func startFailingJoins(t *testing.T, opts ...multicast.Option) (*multicast.Transport, func(f func())) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, append([]multicast.Option{multicast.WithInterface("lo")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	failing := failingJoins(m)
	if err := m.Start(newHopsHost(1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, failing
}

// TestJoinFailure checks what follows a subscription whose group cannot be
// joined (as with no file descriptor left): unsubscribing it must not take
// the socket from another topic on the same group, and the transport joins
// once it can.
func TestJoinFailure(t *testing.T) {
	if !netns(t) {
		return
	}
	t.Run("unsubscribe", func(t *testing.T) {
		low, high := collidingNames() // one home group
		// Heartbeats far apart: neither relocation nor a retry during the test.
		m, failing := startFailingJoins(t, multicast.WithHeartbeat(time.Minute))
		failing(func() { m.Advertise(low, 1) })
		if n := m.Stats().Groups; n != 0 {
			t.Fatalf("joined %d groups while joins fail", n)
		}
		m.Advertise(high, 1)
		if n := m.Stats().Groups; n != 1 {
			t.Fatalf("joined %d groups for %s, want 1", n, high)
		}
		m.Advertise(low, 0)
		if n := m.Stats().Groups; n != 1 {
			t.Fatalf("%d groups joined after unsubscribing %s, whose join had failed; want 1, for %s", n, low, high)
		}
	})
	t.Run("retry", func(t *testing.T) {
		m, failing := startFailingJoins(t, multicast.WithHeartbeat(100*time.Millisecond))
		failing(func() { m.Advertise(stringTopic.Name(), 1) })
		if !waitFor(5*time.Second, func() bool { return m.Stats().Groups == 1 }) {
			t.Fatalf("groups joined: %d, want 1 once file descriptors are free again", m.Stats().Groups)
		}
	})
}
