package agree

import (
	"testing"
	"time"
)

// TestSyncFlood checks that SYNCs from ever new node ids, as a forger would
// send them, draw at most about one snapshot per heartbeat from each node
// (the others coalesced into one for everyone), and that a node joining
// during the flood still learns the table.
func TestSyncFlood(t *testing.T) {
	const entries, syncs = 100, 500
	s := newSim(simConfig{nodes: 4, size: 1 << 12, control: 80, seed: 3, hb: time.Second, expiry: time.Hour})
	s.run(3 * time.Second)
	for g := range uint32(entries) {
		e := Entry{Group: 100 + g, Topic: TopicID(g + 1), Ballot: Ballot{Round: 1, Node: 1}}
		for _, sn := range s.nodes {
			sn.n.apply(e, new(map[TopicID]struct{}))
		}
	}
	before := s.sent[KindSnapshot]
	start := s.now
	const span = 2 * time.Second
	joinAt := start + span/2
	var late *Node
	for i := range uint64(syncs) {
		s.run(start + time.Duration(i)*span/syncs)
		if late == nil && s.now >= joinAt {
			s.nodes = append(s.nodes, &simNode{})
			s.start(len(s.nodes)-1, s.now)
			late = s.nodes[len(s.nodes)-1].n
		}
		s.inject(Msg{Kind: KindSync, From: 1<<50 + i, Digest: i})
	}
	s.run(start + span + 3*s.cfg.hb)
	if late.Digest() != s.nodes[0].n.Digest() || len(late.Table()) != entries {
		t.Errorf("the node that joined during the flood has %d of %d assignments", len(late.Table()), entries)
	}
	got := s.sent[KindSnapshot] - before
	// Each node: one snapshot at once and one coalesced per heartbeat.
	heartbeats := int((span+3*s.cfg.hb)/s.cfg.hb) + 1
	if limit := 2 * len(s.nodes) * heartbeats; got > limit {
		t.Errorf("%d SYNCs from new ids drew %d snapshots in %d heartbeats, want at most %d", syncs, got, heartbeats, limit)
	}
	t.Logf("%d SYNCs drew %d snapshots", syncs, got)
}
