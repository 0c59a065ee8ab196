package agree

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestSameSeedSameTrace runs seeded scenarios twice each (random faulty
// networks with crashes and restarts, two proposers racing, and racing
// across a short split) and checks that a seed gives the same run, byte
// for byte: every tick, delivery, message sent and event reported in the
// same order. A failing seed of the sweep must reproduce.
func TestSameSeedSameTrace(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		for _, build := range []struct {
			name string
			sc   func(uint64, *rules) scenario
		}{{"random", newScenario}, {"contention", contention}, {"split contention", splitContention}} {
			sc := build.sc(seed, nil)
			sc.cfg.trace = true
			a, b := sc.run(), sc.run()
			if len(a.trace) == 0 {
				t.Fatalf("%s seed %d: empty trace", build.name, seed)
			}
			if !bytes.Equal(a.trace, b.trace) {
				t.Fatalf("%s seed %d: two runs differ (%d and %d bytes of trace): %s", build.name, seed, len(a.trace), len(b.trace), firstDifference(a.trace, b.trace))
			}
		}
		a, b := lateJoiners(seed), lateJoiners(seed)
		if !bytes.Equal(a, b) {
			t.Fatalf("late joiners seed %d: two runs differ (%d and %d bytes of trace): %s", seed, len(a), len(b), firstDifference(a, b))
		}
	}
}

// lateJoiners runs a seeded network whose nodes share a table of
// assignments when three fresh nodes start at the same instant, over a
// lossy network: each older node holds several SYNCs to answer at once,
// and returns the run's trace.
func lateJoiners(seed uint64) []byte {
	const nodes, joiners = 8, 3
	s := newSim(simConfig{nodes: nodes, size: 16, control: 16, seed: seed, loss: 0.3, dup: 0.1,
		spread: 2 * time.Millisecond, faulty: 3 * time.Second, trace: true})
	for i := range nodes - joiners {
		s.interest(i, fmt.Sprintf("late.v1.T%d.proto", i), true)
		s.interest(i, fmt.Sprintf("late.v1.U%d.proto", i%2), true)
	}
	s.run(time.Second)
	for i := nodes - joiners; i < nodes; i++ {
		s.crash(i)
	}
	s.run(s.now + 500*time.Millisecond)
	for i := nodes - joiners; i < nodes; i++ {
		s.start(i, s.now)
	}
	s.runUntilConverged(10 * time.Second)
	return s.trace.Bytes()
}

// firstDifference returns the first line where a and b differ, of each.
func firstDifference(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("one trace is a prefix of the other (%d and %d lines)", len(la), len(lb))
}
