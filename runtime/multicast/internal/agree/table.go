package agree

import "slices"

// An assignments is the table of assignments a node holds: which topic
// owns which group, indexed both ways, with an order-independent digest
// that nodes compare to find out that their tables differ.
type assignments struct {
	byGroup map[uint32]Entry
	byTopic map[TopicID]uint32
	digest  uint64 // XOR of the entries' entryHash
}

func newAssignments() assignments {
	return assignments{byGroup: make(map[uint32]Entry), byTopic: make(map[TopicID]uint32)}
}

// put adds e, whose group and topic hold no entry.
func (a *assignments) put(e Entry) {
	a.byGroup[e.Group] = e
	a.byTopic[e.Topic] = e.Group
	a.digest ^= entryHash(e)
}

// delete removes e, which the table holds.
func (a *assignments) delete(e Entry) {
	delete(a.byGroup, e.Group)
	delete(a.byTopic, e.Topic)
	a.digest ^= entryHash(e)
}

// len returns how many entries the table holds.
func (a *assignments) len() int { return len(a.byGroup) }

// entryHash hashes an entry for the table digest (splitmix64 finaliser).
func entryHash(e Entry) uint64 {
	x := uint64(e.Topic) ^ uint64(e.Group)<<32 ^ uint64(e.Gen)*0x9e3779b97f4a7c15 ^ uint64(e.Ballot.Round)<<16 ^ e.Ballot.Node*0xbf58476d1ce4e5b9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Group returns the group currently carrying a topic: its assignment, or
// its home group.
func (n *Node) Group(t TopicID) uint32 {
	if g, ok := n.table.byTopic[t]; ok {
		return g
	}
	return Home(t, n.cfg.Size, n.cfg.Control)
}

// Table returns the assignments, ordered by group.
func (n *Node) Table() []Entry {
	t := make([]Entry, 0, len(n.table.byGroup))
	for _, e := range n.table.byGroup {
		t = append(t, e)
	}
	slices.SortFunc(t, func(a, b Entry) int { return int(int64(a.Group) - int64(b.Group)) })
	return t
}

// Digest returns an order-independent hash of the table.
func (n *Node) Digest() uint64 { return n.table.digest }

// expire drops the assignments nobody mentioned for the expiry, freeing
// their generation, and forgets mentions of other topics that old.
func (n *Node) expire() {
	for g, e := range n.table.byGroup {
		if last, ok := n.lastMention[e.Topic]; !ok || n.now-last > n.cfg.Expiry {
			n.remove(e)
			n.liveGen[g] = nextGen(e.Gen)
		}
	}
	for t, last := range n.lastMention {
		if _, ok := n.local[t]; !ok && n.now-last > n.cfg.Expiry {
			delete(n.lastMention, t)
		}
	}
}

// apply merges an assignment into the table: per group, and per topic, the
// entry that beats the other wins; a loser's group is freed for a later
// generation.
//
// An entry of a freed generation is refused, unless a live node mentions
// its topic: then it was freed only because this node stopped hearing the
// mentions (the assignment expired on this side of a partition), and the
// nodes that kept it would otherwise disagree with this one for good. It
// still has to beat what the table holds. *mentioned caches the topics
// live nodes mention (nil: not computed yet) across the entries of one
// snapshot.
func (n *Node) apply(e Entry, mentioned *map[TopicID]struct{}) bool {
	if !n.usable(e.Group) || e.Topic == 0 {
		return false
	}
	if e.Gen < n.liveGen[e.Group] {
		if *mentioned == nil {
			*mentioned = n.active()
		}
		if _, ok := (*mentioned)[e.Topic]; !ok {
			return false
		}
	}
	if old, ok := n.table.byGroup[e.Group]; ok {
		if old == e || !e.beats(old) {
			return false
		}
		n.remove(old)
	}
	if og, ok := n.table.byTopic[e.Topic]; ok {
		other := n.table.byGroup[og]
		if other.beats(e) {
			n.liveGen[e.Group] = max(n.liveGen[e.Group], nextGen(e.Gen))
			return false
		}
		n.remove(other)
		n.liveGen[og] = max(n.liveGen[og], nextGen(other.Gen))
	}
	n.table.put(e)
	if _, ok := n.lastMention[e.Topic]; !ok {
		n.lastMention[e.Topic] = n.now
	}
	n.noteRound(e.Group, e.Gen, e.Ballot.Round)
	if n.proposal != nil && n.proposal.group == e.Group {
		n.proposal = nil // the instance is decided, by us or someone else
	}
	return true
}

// remove takes an entry out of the table.
func (n *Node) remove(e Entry) {
	n.table.delete(e)
	// Mentions are kept for assigned and local topics only: entries come
	// from the network, and each would leave one behind until the expiry.
	// A topic assigned again starts afresh (apply).
	if _, ok := n.local[e.Topic]; !ok {
		delete(n.lastMention, e.Topic)
	}
}
