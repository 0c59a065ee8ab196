package agree

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestLossyRelocation runs eight proposers whose topics share one home
// group over a network that drops, duplicates and reorders datagrams the
// whole time (5%, 10% and 20% of each, reordering up to 3 ms over 1 ms
// links), and checks that every relocation still completes: the tables
// converge, no two topics share a group, and no chosen value ever changes.
// Run with -v for the figures in RELIABILITY.md.
func TestLossyRelocation(t *testing.T) {
	seeds := 50
	if testing.Short() {
		seeds = 10
	}
	for _, p := range []float64{0.05, 0.10, 0.20} {
		t.Run(fmt.Sprintf("%.0f%%", p*100), func(t *testing.T) {
			var took []time.Duration
			msgs, moved, lost, dups := 0, 0, 0, 0
			for seed := range uint64(seeds) {
				r := relocateOver(simConfig{nodes: 8, seed: seed, loss: p, dup: p, spread: 3 * time.Millisecond})
				if !r.ok {
					t.Fatalf("seed %d: no convergence in 30 s: %s", seed, r.why)
				}
				if len(r.violations) > 0 {
					t.Fatalf("seed %d: safety: %v", seed, r.violations)
				}
				took = append(took, r.took)
				msgs, moved, lost, dups = msgs+r.msgs, moved+r.moved, lost+r.lost, dups+r.dups
			}
			slices.Sort(took)
			t.Logf("loss=dup=%.0f%%: %d seeds, all converged; first PREPARE to convergence p50 %v, p99 %v, max %v; %.1f control msgs/relocation; %d datagrams lost, %d duplicated",
				p*100, seeds, took[len(took)/2], took[len(took)*99/100], took[len(took)-1], float64(msgs)/float64(moved), lost, dups)
		})
	}
}

// TestLossySweep runs the sweep's random scenarios (2 to 16 nodes,
// colliding topics, crashes and restarts) with loss and duplication at 5%,
// 10% and 20% during the first two seconds, and checks that every run
// converges afterwards with no chosen value changed. Run with -v for the
// figures in RELIABILITY.md.
func TestLossySweep(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	for _, p := range []float64{0.05, 0.10, 0.20} {
		t.Run(fmt.Sprintf("%.0f%%", p*100), func(t *testing.T) {
			var after []time.Duration
			for seed := range uint64(seeds) {
				sc := newScenario(seed, nil)
				sc.cfg.loss, sc.cfg.dup, sc.cfg.faulty = p, p, 2*time.Second
				o := sc.run()
				if len(o.violations) > 0 {
					t.Fatalf("seed %d: safety: %v", seed, o.violations)
				}
				if !o.converged {
					t.Fatalf("seed %d: no convergence: %s", seed, o.why)
				}
				// o.at is when convergence had held for two heartbeats
				// after the first check that found it.
				c := sc.cfg
				c.defaults()
				after = append(after, o.at-2*c.hb-c.faulty)
			}
			slices.Sort(after)
			t.Logf("loss=dup=%.0f%% for 2 s: %d seeds, all converged (checked every half heartbeat, 50 ms, then held for two heartbeats) at the check p50 %v, p99 %v, max %v after the faults stopped",
				p*100, seeds, after[len(after)/2], after[len(after)*99/100], after[len(after)-1])
		})
	}
}

type lossyRelocation struct {
	relocation
	lost, dups int
	violations []string
}

// relocateOver is relocate over the network cfg describes (nodes, seed,
// faults), faulty throughout.
func relocateOver(cfg simConfig) lossyRelocation {
	const size = 4096
	n := cfg.nodes
	cfg.size, cfg.control, cfg.faulty = size, size, time.Hour
	cfg.delay, cfg.hb, cfg.timeout = time.Millisecond, time.Second, 10*time.Millisecond
	s := newSim(cfg)
	names := collidingNames(n, size, size)
	for i := range n {
		s.interest(i, names[i], true)
	}
	var first time.Duration = -1
	before := s.controlMessages()
	for s.now < 30*time.Second {
		prev, prevMsgs := s.sent[KindPrepare], s.controlMessages()
		s.run(s.now + time.Millisecond)
		if first < 0 && s.sent[KindPrepare] > prev {
			first = s.now - time.Millisecond
			before = prevMsgs
		}
		if first >= 0 && s.lastCommit > 0 {
			moved := 0
			for _, sn := range s.nodes {
				moved += int(sn.n.Relocations)
			}
			if ok, _ := s.converged(); ok && moved == n-1 {
				s.checkTables()
				return lossyRelocation{
					relocation: relocation{ok: true, took: s.now - first, msgs: s.controlMessages() - before, moved: moved},
					lost:       s.lost, dups: s.duplicated, violations: s.violations,
				}
			}
		}
	}
	_, why := s.converged()
	return lossyRelocation{relocation: relocation{why: why}, violations: s.violations}
}
