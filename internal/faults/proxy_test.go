package faults_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo/internal/faults"
)

// echoServer echoes every connection on 127.0.0.1 until the test ends, and
// reports what reached it after the client's side was half-closed.
func echoServer(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln
}

// proxied returns a connection to an echo server through a new Proxy.
func proxied(t *testing.T) (*faults.Proxy, net.Conn) {
	t.Helper()
	p, err := faults.NewProxy(echoServer(t).Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	// Closing the client first lets the echo connection end before the
	// server's cleanup waits for it.
	t.Cleanup(func() { c.Close(); p.Close() })
	return p, c
}

// roundTrip writes n bytes to c and reads them back, returning the time.
func roundTrip(t *testing.T, c net.Conn, n int) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestProxy(t *testing.T) {
	t.Run("forwards", func(t *testing.T) {
		p, c := proxied(t)
		roundTrip(t, c, 100<<10)
		// The count follows the last write by a moment.
		if _, ok := eventually(10*time.Second, func() bool { return p.Forwarded() == 200<<10 }); !ok {
			t.Errorf("Forwarded %d bytes, want %d", p.Forwarded(), 200<<10)
		}
		if p.Conns() != 1 {
			t.Errorf("Conns %d, want 1", p.Conns())
		}
	})
	t.Run("latency", func(t *testing.T) {
		p, c := proxied(t)
		p.SetLatency(100 * time.Millisecond)
		if d := roundTrip(t, c, 10); d < 200*time.Millisecond {
			t.Errorf("round trip %v with 100 ms each way", d)
		}
		p.SetLatency(0)
		// The latency is a floor under every round trip, while a loaded
		// machine's stalls come and go: the fastest of a few round trips
		// tells whether the latency is gone.
		fastest := roundTrip(t, c, 10)
		for range 4 {
			fastest = min(fastest, roundTrip(t, c, 10))
		}
		if fastest > 150*time.Millisecond {
			t.Errorf("fastest of 5 round trips %v after the latency was removed", fastest)
		}
	})
	t.Run("bandwidth", func(t *testing.T) {
		p, c := proxied(t)
		p.SetBandwidth(64 << 10)
		// 32 KiB at 64 KiB/s takes half a second one way (the way back
		// overlaps it).
		if d := roundTrip(t, c, 32<<10); d < 450*time.Millisecond {
			t.Errorf("32 KiB each way at 64 KiB/s took %v", d)
		}
	})
	t.Run("stall", func(t *testing.T) {
		p, c := proxied(t)
		p.Stall()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var ne net.Error
		if n, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() || n != 0 {
			t.Fatalf("read %d bytes, %v during a stall; want a timeout", n, err)
		}
		p.Resume()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("after Resume: %v", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		p, c := proxied(t)
		roundTrip(t, c, 10)
		p.Reset()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after Reset: %v, want ECONNRESET", err)
		}
	})
	t.Run("half-close", func(t *testing.T) {
		p, c := proxied(t)
		roundTrip(t, c, 10)
		p.HalfClose()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read after HalfClose: %v, want EOF", err)
		}
		if _, err := c.Write([]byte("still open")); err != nil {
			t.Fatalf("write after HalfClose: %v", err)
		}
	})
	t.Run("loopback targets only", func(t *testing.T) {
		for _, target := range []string{"192.0.2.1:80", "example.com:80", "no port"} {
			if p, err := faults.NewProxy(target); err == nil {
				p.Close()
				t.Errorf("NewProxy(%q) accepted", target)
			}
		}
	})
}
