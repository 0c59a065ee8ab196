package tcp

import (
	"net"
	"testing"
)

// testPeer returns a peer of a new Transport on conn, as after a handshake
// with peer 2 accepting frames of up to 1 MiB. Neither its reader nor its
// writer runs: tests drive it directly.
func testPeer(t *testing.T, conn net.Conn) (*Transport, *peer) {
	t.Helper()
	tr := newTransport(newConfig(nil))
	t.Cleanup(tr.cancel)
	return tr, newPeer(tr, conn, hello{peerID: 2, maxFrame: 1 << 20})
}

// registeredPeer is testPeer on one end of a net.Pipe, registered with its
// Transport as a handshaken connection is.
func registeredPeer(t *testing.T) (*Transport, *peer) {
	t.Helper()
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	tr, p := testPeer(t, c1)
	if !tr.register(p) {
		t.Fatal("register failed")
	}
	return tr, p
}
