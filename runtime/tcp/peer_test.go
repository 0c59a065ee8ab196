package tcp

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNoFrameIsHandledAfterAnError checks the invariant that keeps frames
// after one that ends the connection from being handled: once the
// dispatcher returns an error, inflight must not drop to zero, or the
// reading goroutine, still running until it is told to stop, would take
// the dispatcher for idle and handle the next lone frame itself (a DATA
// after a CLOSE or a protocol error, say). The interleaving cannot be
// forced from outside, so the test checks the counter the reading
// goroutine consults.
func TestNoFrameIsHandledAfterAnError(t *testing.T) {
	_, p := pipePeer(t)
	fr := newFrameReader(p.conn, 1<<20, ioBufferSize)
	batches := make(chan []byte, 1)
	batches <- appendFrame(nil, 0x7f, []byte("?")) // an unknown kind
	var inflight atomic.Int32
	inflight.Add(1) // as the reading goroutine counts it when sending
	err := p.dispatch(nullHost{}, fr, batches, &inflight)
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("dispatch: %v, want a protocol error", err)
	}
	if inflight.Load() == 0 {
		t.Fatal("after an error the dispatcher looks idle: the reading goroutine would handle the next lone frame")
	}
}

// TestInterningIsBounded checks that the names a peer's reader keeps take
// bounded memory, however long the names a peer sends.
func TestInterningIsBounded(t *testing.T) {
	p := newPeer(newTransport(testConfig()), nil, hello{peerID: 2, maxFrame: 1 << 20})
	long := strings.Repeat("x", 4<<10)
	for i := range 2 * maxInterned {
		name := fmt.Sprintf("%s.%d", long, i)
		if got := p.intern([]byte(name)); got != name {
			t.Fatalf("intern(%.10q…) = %.10q…", name, got)
		}
	}
	kept := 0
	for k := range p.topics {
		kept += len(k)
	}
	if limit := maxInterned * maxInternedLen; kept > limit {
		t.Fatalf("the reader keeps %d bytes of names, more than %d", kept, limit)
	}
	short := "a.B.proto"
	if p.intern([]byte(short)) != short {
		t.Fatal("a short name does not intern as itself")
	}
}
