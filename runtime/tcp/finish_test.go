//go:build unix

package tcp

import (
	"context"
	"io"
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
