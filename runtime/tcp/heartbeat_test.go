package tcp_test

import (
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/tcp"
)

// TestIdleConnectionPingsEveryInterval checks the heartbeat schedule from
// the wire: on an idle connection the listener writes a frame at least once
// an interval, not once every two intervals, even when its own PONGs
// answer the peer's PINGs.
func TestIdleConnectionPingsEveryInterval(t *testing.T) {
	// Long enough that a loaded machine's scheduling delays, tens of
	// milliseconds, do not look like the bug (a silence of two intervals).
	const interval = 250 * time.Millisecond
	a := newPlexus(t)
	l := listen(t, a, tcp.WithHeartbeat(interval, 2*interval))
	raw := dialRaw(t, l.Addr(), true)
	// The raw peer answers every PING and, between, pings at odd moments,
	// so that the listener's PONGs fall anywhere in its intervals.
	var largest time.Duration
	last := time.Now()
	deadline := last.Add(12 * interval)
	for n := 0; time.Now().Before(deadline); n++ {
		kind, _, err := raw.readFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		now := time.Now()
		if n > 0 { // the first may follow the handshake's frames
			largest = max(largest, now.Sub(last))
		}
		last = now
		if kind == 0x04 {
			raw.write(t, frame(0x05, nil))
			time.Sleep(interval / 3)
			raw.write(t, frame(0x04, nil))
		}
	}
	// An interval, plus scheduling on a loaded machine; two intervals is
	// what the bug was.
	if largest >= 3*interval/2 {
		t.Fatalf("the listener was silent for %v, interval %v", largest, interval)
	}
	if s := l.Stats(); s.Disconnects != 0 {
		t.Fatalf("connection dropped: %v", s.LastError)
	}
}

// TestIdleConnectionSurvivesTheTightestHeartbeat keeps an idle connection
// with the tightest heartbeat pair allowed, a timeout of two intervals, for
// many timeouts: it must not drop.
func TestIdleConnectionSurvivesTheTightestHeartbeat(t *testing.T) {
	const interval = 200 * time.Millisecond // see TestIdleConnectionPingsEveryInterval
	hb := tcp.WithHeartbeat(interval, 2*interval)
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a, hb)
	d := dial(t, b, l, hb)
	if err := d.WaitConnected(timeout(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * 2 * interval)
	for _, tr := range []*tcp.Transport{l, d} {
		if s := tr.Stats(); s.Disconnects != 0 || s.Connects != 1 {
			t.Fatalf("%d connects, %d disconnects: %v", s.Connects, s.Disconnects, s.LastError)
		}
	}
}
