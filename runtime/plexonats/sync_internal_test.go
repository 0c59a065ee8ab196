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
		cfg, err := newConfig([]Option{WithInterestRefresh(d)})
		if err != nil {
			t.Fatal(err)
		}
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

// TestOptionSettings checks the settings that bad or edge values of the
// options that clamp or keep a default leave.
func TestOptionSettings(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  []Option
		check func(config) bool
	}{
		{"pending zero", []Option{WithPendingLimits(0, 0)}, func(c config) bool {
			return c.pendingMessages == DefaultPendingMessages && c.pendingBytes == DefaultPendingBytes
		}},
		{"pending one of two", []Option{WithPendingLimits(3, 0)}, func(c config) bool {
			return c.pendingMessages == 3 && c.pendingBytes == DefaultPendingBytes
		}},
		{"pending replaced", []Option{WithPendingLimits(3, 4), WithPendingLimits(0, 9)}, func(c config) bool {
			return c.pendingMessages == DefaultPendingMessages && c.pendingBytes == 9
		}},
		{"refresh zero", []Option{WithInterestRefresh(0)}, func(c config) bool { return c.refresh == DefaultInterestRefresh }},
		{"refresh minimum", []Option{WithInterestRefresh(MinInterestRefresh)}, func(c config) bool { return c.refresh == MinInterestRefresh }},
		{"refresh clamped", []Option{WithInterestRefresh(48 * time.Hour)}, func(c config) bool { return c.refresh == maxRefresh }},
		{"prefix empty", []Option{WithSubjectPrefix("")}, func(c config) bool { return c.prefix == DefaultSubjectPrefix }},
		{"nil option", []Option{nil}, func(c config) bool { return c.refresh == DefaultInterestRefresh }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := newConfig(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("newConfig = %+v: not the documented setting", cfg)
			}
		})
	}
}
