package agree

import "testing"

// TestMutations re-introduces each of pyplexo's Paxos bugs, as a wrong
// version of one of the rules, and asserts that the sweep's checks catch
// it.
func TestMutations(t *testing.T) {
	tests := []struct {
		name  string
		rules func() *rules
		dup   float64
		loss  float64
	}{
		{"promise sent where the proposer does not listen", promiseNowhere, 0, 0},
		{"one ballot shared by proposer and acceptor", sharedBallot, 0, 0},
		{"quorum counted by messages", quorumByMessages, 0.6, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(400) {
				for _, build := range []func(uint64, *rules) scenario{newScenario, contention, splitContention} {
					sc := build(seed, tt.rules())
					if tt.dup > 0 {
						sc.cfg.dup, sc.cfg.loss = tt.dup, tt.loss
					}
					if o := sc.run(); o.failed() {
						t.Logf("seed %d: caught: violations=%v converged=%v %s", seed, o.violations, o.converged, o.why)
						return
					}
				}
			}
			t.Fatal("the checks did not catch the mutation in 400 seeds")
		})
	}
}

// promiseNowhere addresses a PROMISE where its proposer does not listen.
func promiseNowhere() *rules {
	r := paxosRules
	r.promiseTo = func(n *Node, m *Msg) uint64 {
		if m.From != n.cfg.Self {
			return n.cfg.Self
		}
		return m.From
	}
	return &r
}

// sharedBallot makes a proposer read its acceptor's ballot: one ballot
// shared by proposer and acceptor state.
func sharedBallot() *rules {
	r := paxosRules
	r.acceptBallot = func(n *Node, p *proposer) Ballot {
		if a := n.acceptors[p.group]; a != nil && a.gen == p.gen {
			p.ballot = a.promised
		}
		return p.ballot
	}
	return &r
}

// quorumByMessages counts votes by message, duplicates included, not by
// distinct node.
func quorumByMessages() *rules {
	type phase struct {
		p     *proposer
		phase int
	}
	messages := make(map[phase]int)
	r := paxosRules
	r.vote = func(p *proposer, from uint64) int {
		p.votes[from] = struct{}{}
		k := phase{p, p.phase}
		messages[k]++
		return messages[k]
	}
	return &r
}
