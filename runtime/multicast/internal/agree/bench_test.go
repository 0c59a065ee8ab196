package agree

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkRelocation measures, over the simulator with 1 ms links, how
// long n concurrent proposers take to move n-1 colliding topics (first
// PREPARE to last COMMIT, simulated time) and how many control messages
// each relocation costs.
func BenchmarkRelocation(b *testing.B) {
	for _, loss := range []float64{0, 0.05} {
		for _, n := range []int{2, 4, 8, 16} {
			b.Run(fmt.Sprintf("proposers=%d/loss=%.0f%%", n, loss*100), func(b *testing.B) {
				b.ReportAllocs()
				var took []time.Duration
				msgs, moved := 0, 0
				for i := 0; b.Loop(); i++ {
					r := relocate(n, loss, uint64(i))
					if !r.ok {
						b.Fatalf("seed %d: no convergence: %s", i, r.why)
					}
					took = append(took, r.took)
					msgs += r.msgs
					moved += r.moved
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
				b.ReportMetric(float64(took[len(took)*99/100])/1e6, "p99-ms")
				b.ReportMetric(float64(msgs)/float64(moved), "msgs/relocation")
				b.ReportMetric(float64(4*n+4), "budget-msgs")
			})
		}
	}
}

// BenchmarkLateJoin measures how long (simulated, 1 ms links) a node
// joining four peers takes to learn a table of 1,000 assignments.
func BenchmarkLateJoin(b *testing.B) {
	b.ReportAllocs()
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		s := newSim(simConfig{nodes: 4, size: 1 << 16, control: 80, seed: uint64(i), hb: time.Second, expiry: time.Hour})
		s.run(3 * time.Second)
		for g := range uint32(1000) {
			e := Entry{Group: 100 + g, Topic: TopicID(g + 1), Ballot: Ballot{Round: 1, Node: 1}}
			for _, sn := range s.nodes {
				sn.n.apply(e, new(map[TopicID]struct{}))
			}
		}
		s.nodes = append(s.nodes, &simNode{})
		joined := s.now
		s.start(len(s.nodes)-1, joined)
		late := s.nodes[len(s.nodes)-1].n
		for late.Digest() != s.nodes[0].n.Digest() && s.now < joined+time.Second {
			s.run(s.now + 100*time.Microsecond)
		}
		took = append(took, s.now-joined)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100])/1e6, "p99-ms")
}
