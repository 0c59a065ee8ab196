package tcp_test

import (
	"errors"
	"io"
	"testing"

	"github.com/plexo-go/plexo/runtime/tcp"
)

// TestRefusalFitsThePeersMaximum refuses handshakes whose reasons are
// longer than the peer accepts: the CLOSE frame is cut to the peer's
// maximum frame size, or to 64 bytes (the least any plexo peer accepts)
// when the hello says nothing reliable about it.
func TestRefusalFitsThePeersMaximum(t *testing.T) {
	a := newPlexus(t)
	l := listen(t, a)
	for _, c := range []struct {
		name     string
		version  uint16
		id       uint64
		maxFrame uint32
		limit    int // the longest frame the peer accepts, or -1: no CLOSE
	}{
		{"another version", 3, 7, 1 << 20, 64},
		{"another version announcing a tiny maximum", 3, 7, 8, 64},
		{"a maximum below 64", 2, 7, 40, 40},
		{"a maximum of one byte", 2, 7, 1, 1},
		{"a maximum of zero", 2, 7, 0, -1},
		{"itself, with a maximum of 64", 2, a.ID(), 64, 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := dialRaw(t, l.Addr(), false)
			raw.write(t, helloBytes(c.version, c.id, c.maxFrame))
			var in [20]byte
			if _, err := io.ReadFull(raw.r, in[:]); err != nil {
				t.Fatalf("reading the hello: %v", err)
			}
			kind, body, err := raw.readFrame()
			if c.limit < 0 {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("got frame %d %q, %v; want the connection closed without a frame", kind, body, err)
				}
				return
			}
			if err != nil || kind != 0x06 {
				t.Fatalf("got frame %d, %v; want CLOSE", kind, err)
			}
			if n := 1 + len(body); n > c.limit {
				t.Fatalf("CLOSE frame of %d bytes (%q), peer accepts %d", n, body, c.limit)
			}
			if c.limit >= 64 && len(body) < 16 {
				t.Fatalf("reason %q cut shorter than needed", body)
			}
		})
	}
	if err := l.Stats().LastError; !errors.Is(err, tcp.ErrHandshake) {
		t.Fatalf("LastError = %v, want ErrHandshake", err)
	}
}
