package plexonats

import (
	"testing"
	"time"

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

// Peers believe a refresh interval of at most maxRefresh and forget a
// transport after three of them: a transport must not refresh less often,
// or its interest would be forgotten between two of its syncs.
func TestRefreshIsNoLongerThanPeersBelieve(t *testing.T) {
	for _, d := range []time.Duration{maxRefresh, 4 * maxRefresh, 24 * time.Hour} {
		cfg := newConfig([]Option{WithInterestRefresh(d)})
		m := newInterestMsg("_PLEXO.INTEREST.plexo", 7, kindSync, cfg.refresh, nil)
		im, err := parseInterest(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.refresh > 3*im.refresh {
			t.Errorf("WithInterestRefresh(%v): syncs every %v, peers forget it after %v", d, cfg.refresh, 3*im.refresh)
		}
	}
}
