package agree

import "slices"

// active returns the topics some live node (this one included) mentions.
func (n *Node) active() map[TopicID]struct{} {
	act := make(map[TopicID]struct{}, len(n.local))
	for id := range n.local {
		act[id] = struct{}{}
	}
	for _, p := range n.view.peers {
		for _, t := range p.topics {
			act[t.ID] = struct{}{}
		}
	}
	return act
}

// mustMove reports whether topic t shares its group with a topic that has
// priority: the group's assigned owner, or, on a home group nobody owns, an
// active topic with a smaller id.
func (n *Node) mustMove(t TopicID, occupants map[uint32][]TopicID) bool {
	g := n.Group(t)
	if e, ok := n.table.byGroup[g]; ok {
		return e.Topic != t
	}
	for _, u := range occupants[g] {
		if u < t {
			return true
		}
	}
	return false
}

// maybePropose starts a relocation when a topic of local interest must move
// and none is in progress.
func (n *Node) maybePropose() {
	if n.proposal != nil || len(n.local) == 0 || !n.started || n.now < n.backoffUntil ||
		n.now < n.startedAt+n.grace() {
		return
	}
	act := n.active()
	occupants := make(map[uint32][]TopicID, len(act))
	for id := range act {
		g := n.Group(id)
		occupants[g] = append(occupants[g], id)
	}
	ids := make([]TopicID, 0, len(n.local))
	for id := range n.local {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, t := range ids {
		if !n.mustMove(t, occupants) {
			continue
		}
		seed := probeSeed(n.local[t].Name)
		for k := uint32(0); k < n.cfg.Size; k++ {
			g := Probe(seed, k, n.cfg.Size, n.cfg.Control)
			if g == n.cfg.Control || n.taken(g, t, occupants) {
				continue
			}
			n.propose(t, g)
			return
		}
		return // the range is full
	}
}

// taken reports whether group g is unavailable to topic t.
func (n *Node) taken(g uint32, t TopicID, occupants map[uint32][]TopicID) bool {
	if _, ok := n.table.byGroup[g]; ok || n.spent(g) {
		return true
	}
	for _, u := range occupants[g] {
		if u != t {
			return true
		}
	}
	if a := n.acceptors[g]; a != nil && a.gen >= n.liveGen[g] && !a.accepted.IsZero() && a.value != t {
		return true
	}
	return false
}

func (n *Node) propose(t TopicID, g uint32) {
	gen, round, _ := n.nextBallot(g) // taken refused spent groups
	n.noteRound(g, gen, round)
	p := &proposer{
		topic:     t,
		value:     t,
		group:     g,
		gen:       gen,
		ballot:    Ballot{Round: round, Node: n.cfg.Self},
		phase:     1,
		votes:     make(map[uint64]struct{}),
		deadline:  n.now + n.cfg.RoundTimeout,
		startedAt: n.now,
	}
	n.proposal = p
	n.send(Msg{Kind: KindPrepare, From: n.cfg.Self, Group: g, Gen: p.gen, Ballot: p.ballot})
}

// abort gives up the current instance; with backoff, retries wait a
// jittered, exponentially growing delay.
func (n *Node) abort(backoff bool) {
	n.proposal = nil
	if !backoff {
		return
	}
	n.attempts++
	d := n.cfg.Backoff << min(n.attempts, 6)
	n.backoffUntil = n.now + n.jitter(d)
}

// quorum is a majority of the larger of this node's view and the largest
// view reported in the promises.
func (n *Node) quorum(p *proposer) int {
	v := max(n.ViewSize(), int(p.maxView))
	return v/2 + 1
}

func (n *Node) vote(p *proposer, from uint64) int { return n.rules.vote(p, from) }

func (n *Node) onPromise(m *Msg) {
	p := n.proposal
	if p == nil || p.phase != 1 || m.Group != p.group || m.Gen != p.gen || m.Ballot != p.ballot {
		return
	}
	if !m.AccBallot.IsZero() && p.best.Less(m.AccBallot) {
		p.best, p.bestValue = m.AccBallot, m.Value
	}
	// No node's view holds more than maxPeers peers and itself; a larger
	// size is forged, and would make the quorum unreachable.
	p.maxView = max(p.maxView, min(m.ViewSize, uint32(n.view.maxPeers)+1))
	if n.vote(p, m.From) < n.quorum(p) {
		return
	}
	p.quorum = n.quorum(p)
	p.phase = 2
	p.votes = make(map[uint64]struct{})
	if !p.best.IsZero() {
		p.value = p.bestValue // Paxos: finish the revealed value first
	}
	p.deadline = n.now + n.cfg.RoundTimeout
	n.send(Msg{Kind: KindAccept, From: n.cfg.Self, Group: p.group, Gen: p.gen, Ballot: n.rules.acceptBallot(n, p), Value: p.value})
}

func (n *Node) onAccepted(m *Msg) {
	p := n.proposal
	if p == nil || p.phase != 2 || m.Group != p.group || m.Gen != p.gen || m.Ballot != p.ballot {
		return
	}
	if n.vote(p, m.From) < max(p.quorum, n.quorum(p)) {
		return
	}
	e := Entry{Group: p.group, Gen: p.gen, Topic: p.value, Ballot: p.ballot}
	n.Commits++
	if _, ok := n.local[p.value]; ok {
		n.Relocations++
	}
	n.attempts = 0
	n.proposal = nil
	n.send(Msg{Kind: KindCommit, From: n.cfg.Self, Group: e.Group, Gen: e.Gen, Ballot: e.Ballot, Value: e.Topic})
}

func (n *Node) onNack(m *Msg) {
	if !n.usable(m.Group) {
		return
	}
	if m.NextGen > n.liveGen[m.Group] {
		n.liveGen[m.Group] = m.NextGen
	}
	n.noteRound(m.Group, m.Gen, m.AccBallot.Round)
	p := n.proposal
	if p == nil || m.Group != p.group || m.Gen != p.gen || m.Ballot != p.ballot {
		return
	}
	n.abort(true)
}

// usable reports whether g is a data group of the range. The per-group
// state (rounds seen, freed generations, acceptors, the table) is kept only
// for these: a group number comes from the network, and one outside the
// range would add state that nothing ever removes.
func (n *Node) usable(g uint32) bool { return g < n.cfg.Size && g != n.cfg.Control }

// acceptorFor returns the acceptor state of group g for generation gen, or
// nil (after answering the proposer) when the instance is decided or stale.
func (n *Node) acceptorFor(m *Msg) *acceptor {
	if !n.usable(m.Group) {
		return nil
	}
	n.noteRound(m.Group, m.Gen, m.Ballot.Round)
	if e, ok := n.table.byGroup[m.Group]; ok && e.Gen >= m.Gen {
		n.send(Msg{Kind: KindCommit, From: n.cfg.Self, To: m.From, Group: e.Group, Gen: e.Gen, Ballot: e.Ballot, Value: e.Topic})
		return nil
	}
	if t := n.liveGen[m.Group]; m.Gen < t {
		n.send(Msg{Kind: KindNack, From: n.cfg.Self, To: m.From, Group: m.Group, Gen: m.Gen, Ballot: m.Ballot, NextGen: t})
		return nil
	}
	a := n.acceptors[m.Group]
	if a == nil || a.gen < m.Gen {
		a = &acceptor{gen: m.Gen}
		n.acceptors[m.Group] = a
	}
	if a.gen > m.Gen {
		n.send(Msg{Kind: KindNack, From: n.cfg.Self, To: m.From, Group: m.Group, Gen: m.Gen, Ballot: m.Ballot, NextGen: a.gen})
		return nil
	}
	return a
}

// refuseStale answers a PREPARE or ACCEPT whose ballot is below the one a
// promised with a NACK carrying the promise, and reports whether it did.
func (n *Node) refuseStale(a *acceptor, m *Msg) bool {
	if !m.Ballot.Less(a.promised) {
		return false
	}
	n.send(Msg{Kind: KindNack, From: n.cfg.Self, To: m.From, Group: m.Group, Gen: m.Gen, Ballot: m.Ballot, AccBallot: a.promised})
	return true
}

func (n *Node) onPrepare(m *Msg) {
	a := n.acceptorFor(m)
	if a == nil {
		return
	}
	if n.refuseStale(a, m) {
		return
	}
	a.promised = m.Ballot
	n.send(Msg{Kind: KindPromise, From: n.cfg.Self, To: n.rules.promiseTo(n, m), Group: m.Group, Gen: m.Gen, Ballot: m.Ballot,
		AccBallot: a.accepted, Value: a.value, ViewSize: uint32(n.ViewSize())})
}

func (n *Node) onAccept(m *Msg) {
	a := n.acceptorFor(m)
	if a == nil {
		return
	}
	if n.refuseStale(a, m) {
		return
	}
	a.promised, a.accepted, a.value = m.Ballot, m.Ballot, m.Value
	n.send(Msg{Kind: KindAccepted, From: n.cfg.Self, To: m.From, Group: m.Group, Gen: m.Gen, Ballot: m.Ballot})
}

func (n *Node) onCommit(m *Msg) {
	// A COMMIT is true whoever it answers, so every node applies it.
	e := Entry{Group: m.Group, Gen: m.Gen, Topic: m.Value, Ballot: m.Ballot}
	before := n.proposal
	var mentioned map[TopicID]struct{}
	n.apply(e, &mentioned)
	if before != nil && n.proposal == nil && before.value != e.Topic {
		n.attempts = 0
	}
}
