package tcp

import (
	"testing"
)

// TestInterestChangesCoalesce checks that interest changes waiting for a
// busy writer take memory bounded by the topics, not by how often they
// change: a peer toggling its interest, bridged to a slow peer, must not
// grow that peer's queue without bound. The writer then tells the last
// state only.
func TestInterestChangesCoalesce(t *testing.T) {
	_, p := pipePeer(t)
	for i := range 10000 { // the writer is stuck: nothing is taken from the queue
		p.tell(i%2, "a.B.proto")
		p.tell(1+i%3, "c.D.proto")
	}
	p.q.mu.Lock()
	p.q.frameInterestLocked() // as the writer does when it takes the queue
	got := string(p.q.ctrl)
	p.q.mu.Unlock()
	want := string(appendSubscribeFrame(appendSubscribeFrame(nil, 9999%2, "a.B.proto"), 1+9999%3, "c.D.proto"))
	if got != want {
		t.Fatalf("after 10000 changes the writer sends %d bytes, want the last state (%d bytes)", len(got), len(want))
	}
}

// TestPingFloodQueuesOnePong checks that PINGs arriving faster than the
// writer sends PONGs do not grow the control queue: one queued PONG
// answers them all.
func TestPingFloodQueuesOnePong(t *testing.T) {
	_, p := pipePeer(t)
	for range 10000 { // the writer is stuck: nothing is taken from the queue
		if err := p.handle(nil, kindPing, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := appendStringFrame(nil, kindPong, ""); string(p.q.ctrl) != string(want) {
		t.Fatalf("control queue holds %d bytes after a PING flood, want one PONG (%d bytes)", len(p.q.ctrl), len(want))
	}
}
