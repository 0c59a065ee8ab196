package tcp

import (
	"net"
	"testing"
)

// TestPingFloodQueuesOnePong checks that PINGs arriving faster than the
// writer sends PONGs do not grow the control queue: one queued PONG
// answers them all.
func TestPingFloodQueuesOnePong(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	_, p := testPeer(t, c1)
	for range 10000 { // the writer is stuck: nothing is taken from the queue
		if err := p.handle(nil, kindPing, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := appendStringFrame(nil, kindPong, ""); string(p.q.ctrl) != string(want) {
		t.Fatalf("control queue holds %d bytes after a PING flood, want one PONG (%d bytes)", len(p.q.ctrl), len(want))
	}
}
