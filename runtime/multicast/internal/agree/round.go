package agree

import "math"

// Rounds and generations come from the network as uint32s, and a forged
// message may carry the largest. Neither ever wraps: a round that wrapped
// to 0 would be refused by every acceptor that promised the huge one, and
// the node would propose that same round again for good. A generation
// whose round is spent (no higher ballot exists) is abandoned for the
// next one; a group whose last generation is spent is unusable.

// roundSeen is the highest round seen in one generation of a group.
// Ballots are compared only within a generation (an acceptor starts afresh
// in a newer one), so a round seen in an older generation does not count.
type roundSeen struct {
	gen, round uint32
}

// noteRound records round r, seen in generation gen of group g.
func (n *Node) noteRound(g, gen, r uint32) {
	s, ok := n.maxRound[g]
	if ok && gen < s.gen {
		return
	}
	if !ok || gen > s.gen {
		s = roundSeen{gen: gen}
	}
	s.round = max(s.round, r)
	n.maxRound[g] = s
}

// nextGen returns the generation after gen, saturating.
func nextGen(gen uint32) uint32 {
	if gen == math.MaxUint32 {
		return gen
	}
	return gen + 1
}

// spent reports whether group g has no ballot left: its lowest live
// generation is the last one and a round no proposer can exceed was seen
// in it.
func (n *Node) spent(g uint32) bool {
	s := n.maxRound[g]
	return n.liveGen[g] == math.MaxUint32 && s.gen == math.MaxUint32 && s.round == math.MaxUint32
}

// nextBallot returns the generation and round of this node's next proposal
// for group g, above every round seen in that generation; when the round
// is spent, it opens the next generation. ok is false when g is spent.
func (n *Node) nextBallot(g uint32) (gen, round uint32, ok bool) {
	gen = n.liveGen[g]
	s := n.maxRound[g]
	if s.gen != gen {
		return gen, 1, true
	}
	if s.round < math.MaxUint32 {
		return gen, s.round + 1, true
	}
	if gen == math.MaxUint32 {
		return 0, 0, false
	}
	// No ballot beats the one seen: leave this instance undecided. Its
	// acceptors take the newer generation, and a value chosen in it
	// would be in the table (taken), so this one does not override it.
	gen++
	n.liveGen[g] = gen
	return gen, 1, true
}
