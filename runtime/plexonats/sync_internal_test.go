package plexonats

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// Queries that arrive before the worker gets to them, however many (a
// flood of forged ones, or many transports starting at once), make one
// sync: the queue of work does not grow with them.
func TestQueriesCoalesceIntoOneSync(t *testing.T) {
	tr, err := New(&nats.Conn{})
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		tr.requestSync()
	}
	if n := len(tr.ops); n != 1 {
		t.Fatalf("%d operations queued for 1000 queries, want 1", n)
	}
	tr.takeOps() // as the worker does
	tr.requestSync()
	if n := len(tr.ops); n != 1 {
		t.Errorf("%d operations queued for a query after the worker took the last, want 1", n)
	}
}
