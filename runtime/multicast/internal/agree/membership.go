package agree

import (
	"slices"
	"time"

	"github.com/plexo-go/plexo/internal/interest"
)

// missedHeartbeats is how many heartbeats a peer may miss before it leaves
// the membership view.
const missedHeartbeats = 3

// A peer is what a node holds of one peer, from its latest HELLO.
type peer struct {
	lastHeard time.Duration
	topics    []Topic
	bytes     int // of topics, as MaxViewBytes counts them
	viewSize  uint32
	digest    uint64
}

// A membership is a node's view of its peers: the nodes whose HELLO came
// within missedHeartbeats heartbeats, with the topics it mentioned. It is
// bounded by maxPeers and maxBytes: beyond them, the peers heard from least
// recently are evicted.
type membership struct {
	peers map[uint64]*peer
	bytes int // sum of the peers' bytes
	// maxPeers and maxBytes are MaxPeers and MaxViewBytes (tests lower
	// them).
	maxPeers, maxBytes int
	// topicsChanged tells that the topics the peers mention changed since
	// the node last reported their interest.
	topicsChanged bool
	// want counts, per topic name, the peers' distances to its nearest
	// subscriber ([Topic.Hops], 1..MaxHops) per distance, so that the
	// nearest is read in O(MaxHops) and a HELLO's change costs only its own
	// topics.
	want map[string]*interest.Counts
}

func newMembership() membership {
	return membership{
		peers: make(map[uint64]*peer), maxPeers: MaxPeers, maxBytes: MaxViewBytes,
		want: make(map[string]*interest.Counts),
	}
}

// size returns how many nodes the view holds, the node itself included.
func (v *membership) size() int { return len(v.peers) + 1 }

// has reports whether node id is in the view.
func (v *membership) has(id uint64) bool {
	_, ok := v.peers[id]
	return ok
}

// heard records m, a HELLO received at now. It returns how many peers it
// evicted to make room, and whether m was recorded: a HELLO larger than
// maxBytes alone is not, and counts as one eviction.
func (v *membership) heard(now time.Duration, m *Msg) (evicted uint64, ok bool) {
	size := topicsBytes(m.Topics)
	if size > v.maxBytes {
		return 1, false
	}
	p := v.peers[m.From]
	if p == nil {
		for len(v.peers) >= v.maxPeers && v.evictOldest(m.From) {
			evicted++
		}
		p = &peer{}
		v.peers[m.From] = p
	}
	if !slices.Equal(p.topics, m.Topics) {
		v.bytes -= p.bytes
		v.count(p.topics, false)
		p.topics, p.bytes = nil, 0
		for v.bytes+size > v.maxBytes && v.evictOldest(m.From) {
			evicted++
		}
		p.topics, p.bytes = slices.Clone(m.Topics), size
		v.count(p.topics, true)
		v.bytes += size
		v.topicsChanged = true
	}
	p.lastHeard = now
	p.viewSize = m.ViewSize
	p.digest = m.Digest
	return evicted, true
}

func topicsBytes(ts []Topic) int {
	b := 0
	for _, t := range ts {
		b += 32 + len(t.Name)
	}
	return b
}

// forgetSilent drops the peers not heard from for longer than timeout.
func (v *membership) forgetSilent(now, timeout time.Duration) {
	for id, p := range v.peers {
		if now-p.lastHeard > timeout {
			v.drop(id, p)
		}
	}
}

func (v *membership) drop(id uint64, p *peer) {
	delete(v.peers, id)
	v.count(p.topics, false)
	v.bytes -= p.bytes
	v.topicsChanged = true
}

// evictOldest drops the peer heard from least recently (of those heard
// at the same time, the smallest id, whatever the map's order), other than
// keep, and reports whether there was one.
func (v *membership) evictOldest(keep uint64) bool {
	var (
		oldest uint64
		op     *peer
	)
	for id, p := range v.peers {
		if id != keep && (op == nil || p.lastHeard < op.lastHeard || p.lastHeard == op.lastHeard && id < oldest) {
			oldest, op = id, p
		}
	}
	if op == nil {
		return false
	}
	v.drop(oldest, op)
	return true
}

// count adds a peer's subscriptions among ts to v.want, or removes them.
// Mentions without a name, or at no distance within MaxHops, count for
// nothing.
func (v *membership) count(ts []Topic, add bool) {
	for _, t := range ts {
		h := interest.Clamp(int(t.Hops))
		if h == 0 || t.Name == "" {
			continue
		}
		c := v.want[t.Name]
		if add {
			if c == nil {
				c = new(interest.Counts)
				v.want[t.Name] = c
			}
			c.Move(0, h)
			continue
		}
		c.Move(h, 0)
		if c.Len() == 0 {
			delete(v.want, t.Name)
		}
	}
}

// nearestSubscribers returns, per topic name some peer subscribes to, the
// smallest distance at which one does ([Topic.Hops], ignoring values above
// MaxHops). Multicast is a broadcast medium where every node hears every
// other directly: it adds no hop, and a node's own HELLO never counts.
func (v *membership) nearestSubscribers() map[string]int {
	want := make(map[string]int, len(v.want))
	for name, c := range v.want {
		want[name] = c.Nearest()
	}
	return want
}

// rank returns how many nodes in the view, other than requester, have an
// id below self: those that answer requester's SYNC before self does.
func (v *membership) rank(self, requester uint64) int {
	rank := 0
	for id := range v.peers {
		if id < self && id != requester {
			rank++
		}
	}
	return rank
}
