package tcp_test

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/tcp"
)

// A cutProxy forwards connections to a target, and can cut the latest one
// the way a failing middlebox does: the client's side is closed, so the
// client notices and reconnects, while the target's side is left open and
// silent, so the target notices only at its heartbeat timeout.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn // every connection, both sides, closed by close
	latest net.Conn   // the client's side of the latest connection
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.latest = down
		p.mu.Unlock()
		// Neither copy closes the target's side when it ends.
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, down) }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(down, up) }()
	}
}

// cut closes the client's side of the latest connection.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest.Close()
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestReconnectingPeerIsNotServedTwice cuts a dialer's connection in a way
// the listener does not notice, so that the dialer reconnects while the
// listener still holds the old connection from the same peer. The listener
// must retire the old connection well before its heartbeat timeout, deliver
// every message once either way, and count nothing lost.
func TestReconnectingPeerIsNotServedTwice(t *testing.T) {
	hb := tcp.WithHeartbeat(2*time.Second, 20*time.Second) // the listener would notice at 20 s
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a, hb)
	proxy := newCutProxy(t, l.Addr().String())
	d, err := tcp.Dial(timeout(t), proxy.ln.Addr().String(), append(slices.Clone(fast), hb)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(d); err != nil {
		t.Fatal(err)
	}
	atB, atA := subscribeInt64(t, b), subscribeInt64(t, a)
	waitForInterest(t, a, int64Topic.Name())
	waitForInterest(t, b, int64Topic.Name())
	publish(t, a, 1)
	atB.WaitFor(t, 1)
	atA.WaitFor(t, 1)

	proxy.cut()
	eventually(t, "the dialer reconnects", func() bool { return d.Stats().Connects == 2 })
	// The probe retires the old connection within its second; 10 s, half
	// the heartbeat timeout, leaves a loaded machine room.
	cut := time.Now()
	for len(l.Stats().Peers) != 1 || l.Stats().Disconnects != 1 {
		if time.Since(cut) > 10*time.Second {
			s := l.Stats()
			t.Fatalf("10 s after the reconnection the listener has %d peers, %d disconnects", len(s.Peers), s.Disconnects)
		}
		time.Sleep(time.Millisecond)
	}
	if err := l.Stats().LastError; !errors.Is(err, tcp.ErrHeartbeatTimeout) {
		t.Fatalf("the old connection ended with %v, want ErrHeartbeatTimeout", err)
	}

	// Interest survives the old connection's end, and each message arrives
	// once on each side.
	waitForInterest(t, a, int64Topic.Name())
	waitForInterest(t, b, int64Topic.Name())
	publish(t, a, 2)
	publish(t, b, 3)
	eventually(t, "every message arrives", func() bool { return atB.Len() >= 3 && atA.Len() >= 3 })
	eventually(t, "traffic settles", func() bool { return quiet(a, b) })
	// 2 and 3 come from different publishers: their order is free.
	if got := slices.Sorted(slices.Values(atB.Snapshot())); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("the dialing side received %v, want [1 2 3]", got)
	}
	if got := slices.Sorted(slices.Values(atA.Snapshot())); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("the listening side received %v, want [1 2 3]", got)
	}
	if n := a.Stats().Duplicates + b.Stats().Duplicates; n != 0 {
		t.Fatalf("%d duplicates dropped: a message went over both connections", n)
	}
	if s := l.Stats(); s.Dropped != 0 {
		t.Fatalf("listener dropped %d messages", s.Dropped)
	}
}

// TestTwoLiveConnectionsFromOnePeerStay dials one listener twice from one
// Plexus: the second connection probes the first, which answers, so both
// stay, and each message is still delivered once.
func TestTwoLiveConnectionsFromOnePeerStay(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	d1 := dial(t, b, l)
	if err := d1.WaitConnected(timeout(t)); err != nil {
		t.Fatal(err)
	}
	d2 := dial(t, b, l)
	if err := d2.WaitConnected(timeout(t)); err != nil {
		t.Fatal(err)
	}
	atB := subscribeInt64(t, b)
	waitForInterest(t, a, int64Topic.Name())
	time.Sleep(1500 * time.Millisecond) // past the probe's second
	if s := l.Stats(); len(s.Peers) != 2 || s.Disconnects != 0 {
		t.Fatalf("listener has %d peers, %d disconnects (%v)", len(s.Peers), s.Disconnects, s.LastError)
	}
	publish(t, a, 1, 2)
	atB.WaitFor(t, 2)
	eventually(t, "traffic settles", func() bool { return quiet(a, b) })
	// Over two paths, a message may overtake the one before it.
	if got := slices.Sorted(slices.Values(atB.Snapshot())); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("received %v, want 1 and 2 once each", got)
	}
}
