package agree

import (
	"math"
	"testing"
	"time"
)

// inject delivers m, as a forger on the control group would send it, to
// every live node at once.
func (s *sim) inject(m Msg) {
	for i, sn := range s.nodes {
		if !sn.up {
			continue
		}
		sn.n.Handle(s.now, &m)
		s.flush(i)
	}
}

// TestHugeRound checks that forged PREPAREs and ACCEPTs carrying the
// largest round, on every group of the range, do not stall relocation: no
// round wraps to 0 (which every acceptor would refuse for good), and a
// ballot no round can beat makes the proposer open the group's next
// generation instead.
func TestHugeRound(t *testing.T) {
	const size = 8
	top := Ballot{Round: math.MaxUint32, Node: math.MaxUint64}
	for _, tt := range []struct {
		name string
		msg  func(g uint32) Msg
	}{
		{"prepare", func(g uint32) Msg { return Msg{Kind: KindPrepare, From: 0xbad, Group: g, Ballot: top} }},
		{"prepare below the top node", func(g uint32) Msg {
			return Msg{Kind: KindPrepare, From: 0xbad, Group: g, Ballot: Ballot{Round: math.MaxUint32, Node: 2}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			names := collidingNames(2, size, size)
			s := newSim(simConfig{nodes: 3, size: size, control: size, seed: 9})
			s.run(s.cfg.hb / 2)
			for g := range uint32(size) {
				s.inject(tt.msg(g))
			}
			s.interest(0, names[0], true)
			s.interest(1, names[1], true)
			if _, ok, why := s.runUntilConverged(20 * time.Second); !ok {
				t.Fatalf("no convergence after forged rounds: %s", why)
			}
		})
	}
}

// TestRoundSaturates checks the round a proposer picks never wraps: after
// a NACK carrying the largest round, its next PREPARE for that group is in
// a later generation, at a round above 0.
func TestRoundSaturates(t *testing.T) {
	const size = 16
	names := collidingNames(2, size, size)
	n := New(Config{Self: 7, Size: size, Control: size, Heartbeat: 100 * time.Millisecond, Seed: 1})
	n.Tick(0)
	n.SetInterest(0, Topic{ID: IDOf(names[0]), Name: names[0], Hops: 1}, true)
	// Two peers keep the node from deciding alone: the relocation waits
	// for their votes.
	n.Handle(time.Second, &Msg{Kind: KindHello, From: 9, ViewSize: 3})
	n.Handle(time.Second, &Msg{Kind: KindHello, From: 11, ViewSize: 3})
	n.Tick(time.Second)
	n.SetInterest(time.Second, Topic{ID: IDOf(names[1]), Name: names[1], Hops: 1}, true)
	p := n.proposal
	if p == nil {
		t.Fatal("no relocation started")
	}
	nack := Msg{Kind: KindNack, From: 9, To: n.Self(), Group: p.group, Gen: p.gen, Ballot: p.ballot,
		AccBallot: Ballot{Round: math.MaxUint32, Node: math.MaxUint64}}
	g, gen := p.group, p.gen
	n.Handle(time.Second, &nack)
	n.Outbox()
	for now := time.Second; now < 3*time.Second && n.proposal == nil; now += time.Millisecond {
		n.Tick(now)
	}
	q := n.proposal
	if q == nil || q.group != g {
		t.Fatalf("no new proposal for group %d: %+v", g, q)
	}
	if q.ballot.Round == 0 || q.gen <= gen {
		t.Errorf("after round %d, proposed gen %d round %d; want a gen above %d at a round above 0", uint32(math.MaxUint32), q.gen, q.ballot.Round, gen)
	}
}
