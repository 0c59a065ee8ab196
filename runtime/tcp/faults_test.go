package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// checkServes fails unless l still delivers to a fresh dialer.
func checkServes(t *testing.T, a *plexo.Plexus, l *tcp.Transport) {
	t.Helper()
	b := newPlexus(t)
	dial(t, b, l)
	c := newCollector[string]()
	if _, err := stringTopic.Subscribe(t.Context(), b, func(_ context.Context, m *wrapperspb.StringValue) { c.Add(m.Value) }); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, a, stringTopic.Name())
	if err := stringTopic.Publish(t.Context(), a, wrapperspb.String("still serving")); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(t, 1)
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	for _, c := range []struct {
		name      string
		handshake bool
		send      []byte
		want      error
		reason    string // in the CLOSE frame the listener sends back
	}{
		{"oversized frame", true, []byte{0x40, 0, 0, 0, 0x01}, tcp.ErrFrameTooLarge, "exceeds"},
		{"unknown frame kind", true, frame(0x7f, []byte("?")), tcp.ErrProtocol, "unknown frame"},
		{"empty frame", true, []byte{0, 0, 0, 0}, tcp.ErrProtocol, "empty frame"},
		{"malformed envelope", true, frame(0x01, []byte{0x0a, 0x09, 'x'}), tcp.ErrProtocol, "envelope"},
		{"empty topic", true, frame(0x02, []byte{1}), tcp.ErrProtocol, "invalid topic"},
		{"subscribe without a distance", true, frame(0x02, nil), tcp.ErrProtocol, "distance"},
		{"subscribe beyond MaxHops", true, frame(0x02, append([]byte{plexo.MaxHops + 1}, "a.B.proto"...)), tcp.ErrProtocol, "distance"},
		{"garbage instead of a hello", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), tcp.ErrHandshake, "not a plexo peer"},
		{"other protocol version", false, helloBytes(1, 1, 1<<20), tcp.ErrVersion, "version 1"},
		{"truncated frame", true, frame(0x01, []byte("abcdef"))[:6], io.ErrUnexpectedEOF, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newPlexus(t)
			l := listen(t, a)
			raw := dialRaw(t, l.Addr(), c.handshake)
			raw.write(t, c.send)
			if !c.handshake { // the listener's hello comes first
				if _, err := io.ReadFull(raw.r, make([]byte, 20)); err != nil {
					t.Fatal(err)
				}
			}
			if c.reason != "" {
				if got := raw.closeReason(t); !strings.Contains(got, c.reason) {
					t.Errorf("CLOSE reason %q does not mention %q", got, c.reason)
				}
			} else {
				_ = raw.Conn.(*net.TCPConn).CloseWrite()
			}
			eventually(t, "the listener drops the connection", func() bool {
				return errors.Is(l.Stats().LastError, c.want)
			})
			if e := l.Stats().LastError.Error(); strings.Count(e, "tcp: ") > 1 {
				t.Errorf("LastError %q repeats the prefix", e)
			}
			checkServes(t, a, l)
		})
	}
}

func TestHeartbeatDetectsADeadPeer(t *testing.T) {
	a := newPlexus(t)
	l := listen(t, a)
	raw := dialRaw(t, l.Addr(), true)
	raw.write(t, frame(0x02, append([]byte{1}, int64Topic.Name()...)))
	waitForInterest(t, a, int64Topic.Name())
	// The raw peer now says nothing, not even PONG.
	eventually(t, "the silent peer is dropped and its interest withdrawn", func() bool {
		return errors.Is(l.Stats().LastError, tcp.ErrHeartbeatTimeout) &&
			a.Stats().Topics[int64Topic.Name()].InterestedTransports == 0
	})
	// It was pinged meanwhile.
	if kind, _, err := raw.readFrame(); err != nil || kind != 0x04 {
		t.Fatalf("first frame from the listener: kind %d, %v; want PING", kind, err)
	}
}

func TestReconnectAfterListenerRestart(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	addr := l.Addr().String()
	d := dial(t, b, l)
	c := subscribeInt64(t, b)
	waitForInterest(t, a, int64Topic.Name())
	publish(t, a, 1)
	c.WaitFor(t, 1)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dialer notices", func() bool { return d.Stats().Disconnects == 1 })
	l2, err := tcp.Listen(timeout(t), addr, fast...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Attach(l2); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, a, int64Topic.Name()) // b's interest restored
	publish(t, a, 2)
	if got := c.WaitFor(t, 2); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("received %v, want [1 2]", got)
	}
	if s := d.Stats(); s.Connects != 2 {
		t.Fatalf("dialer connected %d times, want 2", s.Connects)
	}
}

func TestKilledPeerCostsOnlyItsMessages(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t, plexo.WithOverflow(plexo.OverflowBlock))
	// A heartbeat slow enough that the silent raw peer lives until killed.
	l := listen(t, a, tcp.WithHeartbeat(time.Second, 10*time.Second))
	dial(t, b, l)
	atB := newCollector[string]()
	if _, err := stringTopic.Subscribe(t.Context(), b, func(_ context.Context, m *wrapperspb.StringValue) { atB.Add(m.Value) }); err != nil {
		t.Fatal(err)
	}

	// A raw peer subscribes and never reads, so that messages pile up in
	// its queue; then it dies with a reset mid-stream.
	raw := dialRaw(t, l.Addr(), true)
	_ = raw.Conn.(*net.TCPConn).SetReadBuffer(4096)
	raw.write(t, frame(0x02, append([]byte{1}, stringTopic.Name()...)))
	eventually(t, "both peers subscribed", func() bool {
		return slices.ContainsFunc(l.Stats().Peers, func(p tcp.PeerStats) bool { return p.ID == 0xfeed && len(p.Topics) == 1 }) &&
			slices.ContainsFunc(l.Stats().Peers, func(p tcp.PeerStats) bool { return p.ID == b.ID() && len(p.Topics) == 1 })
	})
	const n = 3000 // of 4 KiB: more than the socket buffers hold
	pad := strings.Repeat("x", 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if err := stringTopic.Publish(context.Background(), a, wrapperspb.String(fmt.Sprintf("%05d%s", i, pad))); err != nil {
				t.Error(err)
				return
			}
			if i == n/2 {
				_ = raw.Conn.(*net.TCPConn).SetLinger(0)
				_ = raw.Close()
			}
			if i%100 == 99 {
				// Pace the publisher to the healthy peer, so that only the
				// dead peer's queue overflows.
				for deadline := time.Now().Add(plexotest.Timeout); atB.Len() <= i && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // a second or two, unless stuck
		t.Fatal("the publisher is stuck")
	}
	got := atB.WaitFor(t, n)
	for i, s := range got {
		if s[:5] != fmt.Sprintf("%05d", i) {
			t.Fatalf("the healthy peer's message %d is %.5s", i, s)
		}
	}
	eventually(t, "the killed peer is gone", func() bool { return len(l.Stats().Peers) == 1 })
	if s := l.Stats(); s.Dropped == 0 {
		t.Fatalf("listener stats %+v: want the dead peer's losses counted", s.Counters)
	}
}

func TestDialingItselfIsRefused(t *testing.T) {
	a := newPlexus(t)
	l := listen(t, a)
	d := dial(t, a, l)
	eventually(t, "the self-connection is refused", func() bool {
		return errors.Is(d.Stats().LastError, tcp.ErrHandshake) && errors.Is(l.Stats().LastError, tcp.ErrHandshake)
	})
	if s := l.Stats(); len(s.Peers) != 0 {
		t.Fatalf("listener has peers %+v", s.Peers)
	}
}

func TestMessageTooLargeForThePeer(t *testing.T) {
	a, b := newPlexus(t), newPlexus(t)
	l := listen(t, a)
	d := dial(t, b, l, tcp.WithMaxFrameSize(1024))
	_ = d
	c := newCollector[string]()
	if _, err := stringTopic.Subscribe(t.Context(), b, func(_ context.Context, m *wrapperspb.StringValue) { c.Add(m.Value) }); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, a, stringTopic.Name())
	big := strings.Repeat("x", 2000)
	if err := stringTopic.Publish(t.Context(), a, wrapperspb.String(big)); err != nil {
		t.Fatal(err)
	}
	if err := stringTopic.Publish(t.Context(), a, wrapperspb.String("small")); err != nil {
		t.Fatal(err)
	}
	if got := c.WaitFor(t, 1); got[0] != "small" {
		t.Fatalf("received %q", got)
	}
	if s := a.Stats(); s.TransportErrors != 1 {
		t.Fatalf("TransportErrors = %d, want 1 for the oversized message", s.TransportErrors)
	}
	if s := l.Stats(); s.Dropped != 1 {
		t.Fatalf("Dropped = %d, want 1", s.Dropped)
	}
	// Sending it directly names the sentinel.
	err := l.Send(t.Context(), &plexo.Message{Topic: stringTopic.Name(), Payload: []byte(big), Origin: 1, Sequence: 1})
	if !errors.Is(err, plexo.ErrMessageTooLarge) {
		t.Fatalf("Send = %v, want ErrMessageTooLarge", err)
	}
}

// fakeHost is a Host that counts deliveries.
type fakeHost struct {
	id        uint64
	delivered atomic.Int64
	interest  atomic.Int64
}

func (h *fakeHost) Deliver(*plexo.Message)  { h.delivered.Add(1) }
func (h *fakeHost) SetInterest(string, int) { h.interest.Add(1) }
func (h *fakeHost) Logger() *slog.Logger    { return discardLogger() }
func (h *fakeHost) ID() uint64              { return h.id }

func TestSendDoesNotAllocate(t *testing.T) {
	l, err := tcp.Listen(timeout(t), "127.0.0.1:0", tcp.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d, err := tcp.Dial(timeout(t), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	lh, dh := &fakeHost{id: 1}, &fakeHost{id: 2}
	if err := l.Start(lh); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(dh); err != nil {
		t.Fatal(err)
	}
	topic := "bench.v1.Payload.proto"
	d.Advertise(topic, 1)
	eventually(t, "the listener learns the interest", func() bool { return lh.interest.Load() == 1 })
	msg := &plexo.Message{Topic: topic, Payload: make([]byte, 128), Origin: 1}
	ctx := context.Background()
	for range 1000 { // warm the buffers
		msg.Sequence++
		if err := l.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(10000, func() {
		msg.Sequence++
		if err := l.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	})
	eventually(t, "everything arrives", func() bool { return dh.delivered.Load() == int64(msg.Sequence) })
	if allocs > 0.01 {
		t.Fatalf("Send allocated %.3f times per message, want 0", allocs)
	}
	_ = protowire.Number(0)
}

// TestNoFrameExceedsThePeersMaximum checks that control frames respect the
// maximum frame size the peer announced, as data frames do: a SUBSCRIBE for
// a topic whose name does not fit is not sent (no DATA of that topic could
// be), and a CLOSE reason is cut to fit. A peer receiving a larger frame
// would drop the connection, and a dialer would redial into the same fate.
func TestNoFrameExceedsThePeersMaximum(t *testing.T) {
	const peerMax = 64
	check := func(t *testing.T, raw *rawPeer, until func(kind byte, body []byte) bool) {
		t.Helper()
		for {
			kind, body, err := raw.readFrame()
			if err != nil {
				t.Fatalf("reading frames: %v", err)
			}
			if n := 1 + len(body); n > peerMax {
				t.Fatalf("frame of kind %#x is %d bytes, the peer accepts %d", kind, n, peerMax)
			}
			if until(kind, body) {
				return
			}
		}
	}
	handshake := func(t *testing.T, raw *rawPeer) {
		raw.write(t, helloBytes(2, 0xbeef, peerMax))
		if _, err := raw.r.Discard(20); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("subscribe", func(t *testing.T) {
		a := newPlexus(t)
		l := listen(t, a)
		long := plexo.NewTopic[*wrapperspb.Int64Value]("test.v1." + strings.Repeat("Long", 20) + ".proto")
		if _, err := long.Subscribe(t.Context(), a, func(context.Context, *wrapperspb.Int64Value) {}); err != nil {
			t.Fatal(err)
		}
		raw := dialRaw(t, l.Addr(), false)
		handshake(t, raw)
		eventually(t, "the listener registers the peer", func() bool { return len(l.Stats().Peers) == 1 })
		subscribeInt64(t, a) // a short topic, told after the long one
		check(t, raw, func(kind byte, body []byte) bool {
			return kind == 0x02 && string(body[1:]) == int64Topic.Name()
		})
	})

	t.Run("close reason", func(t *testing.T) {
		a := newPlexus(t)
		l := listen(t, a)
		raw := dialRaw(t, l.Addr(), false)
		handshake(t, raw)
		// An UNSUBSCRIBE whose topic is not UTF-8: the error quotes it.
		raw.write(t, frame(0x03, []byte(strings.Repeat("\xff", 50))))
		check(t, raw, func(kind byte, body []byte) bool {
			return kind == 0x06 && strings.Contains(string(body), "protocol error")
		})
	})
}
