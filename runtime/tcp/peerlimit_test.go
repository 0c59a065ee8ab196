package tcp_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

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
