//go:build unix

package tcp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
)

// TestFinishCountsItsBytes checks that what a closing connection flushes
// (the queued messages and the CLOSE frame) counts in BytesSent, which
// promises every byte written, framing and control frames included.
func TestFinishCountsItsBytes(t *testing.T) {
	client, server := loopbackPair(t)
	_, p := testPeer(t, client)
	msg := plexo.Message{Topic: "a.B.proto", Payload: []byte{8, 1}, Origin: 1, Sequence: 1}
	for range 3 { // the writer is not running: they wait in the queue
		if err := p.enqueue(context.Background(), &msg); err != nil {
			t.Fatal(err)
		}
	}
	p.stop(errTransportClosed, true)
	p.writer() // sees the stop at once and flushes the queue
	_ = client.Close()

	_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(server)
	if err != nil {
		t.Fatal(err)
	}
	c := p.counters()
	if c.Sent != 3 || c.BytesSent != uint64(len(b)) {
		t.Fatalf("Sent %d, BytesSent %d; want 3 and the %d bytes the peer read", c.Sent, c.BytesSent, len(b))
	}
}

// TestPartlyDirectFrameIsCompletedBeforeClose checks that a frame Send
// began writing to the socket itself is completed before anything else,
// even when the connection then stops without flushing its queue: a CLOSE
// frame written into the middle of it would corrupt the stream.
func TestPartlyDirectFrameIsCompletedBeforeClose(t *testing.T) {
	client, server := loopbackPair(t)
	_, p := testPeer(t, client)
	if p.direct == nil {
		t.Skip("no direct writes on this connection")
	}
	// The socket takes only 3 bytes, as a nearly full one would.
	d := p.direct
	d.fn = func(fd uintptr) bool {
		n, err := syscall.Write(int(fd), d.buf[:3])
		if err != nil || n < 0 {
			n = 0
		}
		d.n = n
		return true
	}
	p.q.idle = true // as the writer leaves it when it waits
	msg := plexo.Message{Topic: "a.B.proto", Payload: []byte{8, 1}, Origin: 1, Sequence: 1}
	if err := p.enqueue(context.Background(), &msg); err != nil {
		t.Fatal(err)
	}
	if len(p.q.ctrl) == 0 {
		t.Fatal("the direct write was not partial")
	}
	p.stop(errors.New("test: stopping without a flush"), false)
	p.writer() // sees the stop at once and finishes
	_ = client.Close()

	_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(server)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []byte
	for len(b) > 0 {
		if n := int(binary.BigEndian.Uint32(b)); len(b) < 5 || n == 0 || len(b)-4 < n {
			t.Fatalf("stream is corrupt after frames %v: % x", kinds, b)
		}
		var kind byte
		kind, _, b = splitFrame(b)
		kinds = append(kinds, kind)
	}
	if len(kinds) != 2 || kinds[0] != kindData || kinds[1] != kindClose {
		t.Fatalf("frames %v, want DATA then CLOSE", kinds)
	}
}
