package tcp

import (
	"errors"
	"net"
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
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	_, p := testPeer(t, c1)
	fr := newFrameReader(c1, 1<<20, ioBufferSize)
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
