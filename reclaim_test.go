package plexo_test

import (
	"fmt"
	"runtime"
	"testing"
)

// TestRoutesOfDepartedTopicsAreReclaimed cycles a million distinct topic
// names through a peer's interest, as a long-running bridge sees topics come
// and go, and checks that the Plexus keeps a bounded number of routes and
// that its memory stays flat.
func TestRoutesOfDepartedTopicsAreReclaimed(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	p := newPlexus(t)
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var base uint64
	for i := range n {
		topic := fmt.Sprintf("churn.v1.Topic%d.proto", i)
		tr.host.SetInterest(topic, 1)
		tr.host.SetInterest(topic, 0)
		if i == n/10 {
			base = heap()
		}
	}
	if routes := len(p.Stats().Topics); routes > 5000 {
		t.Fatalf("%d routes after %d topics came and went, want at most about 4096", routes, n)
	}
	// What a route holds is a few hundred bytes; a Plexus that kept them
	// would have grown by hundreds of MiB here.
	if grown := int64(heap()) - int64(base); grown > 8<<20 {
		t.Fatalf("heap grew by %d MiB while topics came and went", grown>>20)
	}
}
