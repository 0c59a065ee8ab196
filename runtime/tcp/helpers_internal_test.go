package tcp

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/plexo-go/plexo"
)

// testPeer returns a peer of a new Transport on conn, as after a handshake
// with peer 2 accepting frames of up to 1 MiB. Neither its reader nor its
// writer runs: tests drive it directly.
func testPeer(t *testing.T, conn net.Conn) (*Transport, *peer) {
	t.Helper()
	tr := newTransport(testConfig())
	t.Cleanup(tr.cancel)
	return tr, newPeer(tr, conn, hello{peerID: 2, maxFrame: 1 << 20})
}

// pipePeer is testPeer on one end of a net.Pipe, both ends closed when the
// test ends.
func pipePeer(t *testing.T) (*Transport, *peer) {
	t.Helper()
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	return testPeer(t, c1)
}

// registeredPeer is pipePeer, registered with its Transport as a
// handshaken connection is.
func registeredPeer(t *testing.T) (*Transport, *peer) {
	t.Helper()
	tr, p := pipePeer(t)
	if !tr.register(p) {
		t.Fatal("register failed")
	}
	return tr, p
}

// nullHost is a Host that ignores everything.
type nullHost struct{}

func (nullHost) Deliver(*plexo.Message) {}

func (nullHost) SetInterest(string, int) {}

func (nullHost) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (nullHost) ID() uint64 { return 1 }

func frames(fs ...[]byte) []byte { return bytes.Join(fs, nil) }

// appendFrame appends a frame of the given kind and body.
func appendFrame(b []byte, kind byte, body []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(body)))
	b = append(b, kind)
	return append(b, body...)
}

// testConfig returns the default configuration.
func testConfig() config {
	c := newConfig(nil)
	if err := c.validate(false); err != nil {
		panic(err)
	}
	return c
}
