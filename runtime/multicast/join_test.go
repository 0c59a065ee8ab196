package multicast_test

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast"
)

// withoutFiles runs f while this process may open no file, so that the
// sockets a transport opens in f fail (too many open files).
func withoutFiles(t *testing.T, f func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	names, err := dir.Readdirnames(-1)
	listing := int(dir.Fd()) // listed, but free again below
	dir.Close()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	open := make(map[int]bool, len(names))
	for _, name := range names {
		if fd, err := strconv.Atoi(name); err == nil && fd != listing {
			open[fd] = true
		}
	}
	free := 0 // the lowest free descriptor: the next one opened
	for open[free] {
		free++
	}
	low := old
	low.Cur = uint64(free)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("skipping: %v", err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	f()
}

// startHopsWith is startHops with other options.
func startHopsWith(t *testing.T, opts ...multicast.Option) *multicast.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, append([]multicast.Option{multicast.WithInterface("lo")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(newHopsHost(1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestJoinFailure checks what follows a subscription whose group cannot be
// joined (here: no file descriptor left): unsubscribing it must not take
// the socket from another topic on the same group, and the transport joins
// once it can.
func TestJoinFailure(t *testing.T) {
	if !netns(t) {
		return
	}
	t.Run("unsubscribe", func(t *testing.T) {
		low, high := collidingNames() // one home group
		// Heartbeats far apart: neither relocation nor a retry during the test.
		m := startHopsWith(t, multicast.WithHeartbeat(time.Minute))
		withoutFiles(t, func() { m.Advertise(low, 1) })
		if n := m.Stats().Groups; n != 0 {
			t.Fatalf("joined %d groups without a file descriptor", n)
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
		m := startHopsWith(t, multicast.WithHeartbeat(100*time.Millisecond))
		withoutFiles(t, func() { m.Advertise(stringTopic.Name(), 1) })
		if !waitFor(5*time.Second, func() bool { return m.Stats().Groups == 1 }) {
			t.Fatalf("groups joined: %d, want 1 once file descriptors are free again", m.Stats().Groups)
		}
	})
}
