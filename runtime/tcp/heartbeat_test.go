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
	const interval = 250 * time.Millisecond
	a := newPlexus(t)
	// This test watches the listener's schedule; a timeout far beyond the
	// interval keeps a loaded machine's stall from dropping the connection.
	l := listen(t, a, tcp.WithHeartbeat(interval, 40*interval))
	raw := dialRaw(t, l.Addr(), true)
	// The raw peer answers every PING and, between, pings at odd moments,
	// so that the listener's PONGs fall anywhere in its intervals.
	var gaps []time.Duration
	last := time.Now()
	deadline := last.Add(12 * interval)
	for n := 0; time.Now().Before(deadline); n++ {
		kind, _, err := raw.readFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		now := time.Now()
		if n > 0 { // the first may follow the handshake's frames
			gaps = append(gaps, now.Sub(last))
		}
		last = now
		if kind == 0x04 {
			raw.write(t, frame(0x05, nil))
			time.Sleep(interval / 3)
			raw.write(t, frame(0x04, nil))
		}
	}
	// A silence of an interval, plus scheduling, follows each PONG of the
	// listener. The bug, a listener that pinged only at its timer's ticks,
	// left a silence of 5/3 intervals after each: half the gaps were that
	// long. A loaded machine's stall stretches a gap now and then, which
	// must not fail the test: a quarter of them may be long.
	var long []time.Duration
	for _, g := range gaps {
		if g >= 3*interval/2 {
			long = append(long, g)
		}
	}
	if len(gaps) < 6 || 4*len(long) > len(gaps) {
		t.Fatalf("the listener was silent for 1.5 intervals or more %d times in %d gaps between its frames (%v), interval %v", len(long), len(gaps), long, interval)
	}
	if s := l.Stats(); s.Disconnects != 0 {
		t.Fatalf("connection dropped: %v", s.LastError)
	}
}

// TestIdleConnectionSurvivesTheTightestHeartbeat keeps an idle connection
// with the tightest heartbeat pair allowed, a timeout of two intervals, for
// many timeouts: it must not drop.
func TestIdleConnectionSurvivesTheTightestHeartbeat(t *testing.T) {
	// With a timeout of two intervals, a stall of about an interval drops
	// the connection whatever the code does: the interval is long enough
	// that a loaded machine's stalls, which reach hundreds of milliseconds
	// under the race detector, stay below it.
	const interval = 500 * time.Millisecond
	hb := tcp.WithHeartbeat(interval, 2*interval)
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a, hb)
	d := dial(t, b, l, hb)
	if err := d.WaitConnected(timeout(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * 2 * interval)
	for _, tr := range []*tcp.Transport{l, d} {
		if s := tr.Stats(); s.Disconnects != 0 || s.Connects != 1 {
			t.Fatalf("%d connects, %d disconnects: %v", s.Connects, s.Disconnects, s.LastError)
		}
	}
}
