package agree

import (
	"strings"
	"testing"
	"time"
)

// TestForgedHellos checks that HELLOs and SYNCs from ever new node ids, as
// restarting nodes or a host forging ids would send, keep the membership
// view, the mentions and the pending snapshot answers bounded.
func TestForgedHellos(t *testing.T) {
	n := New(Config{Self: 1 << 62, Size: 64, Control: 0, Heartbeat: time.Second, Seed: 1})
	n.view.maxPeers, n.view.maxBytes = 64, 64<<10
	n.Tick(0)
	n.apply(Entry{Topic: 5, Group: 3, Gen: 1}, new(map[TopicID]struct{})) // so that SYNCs are answered
	name := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		msg  func(i uint64) Msg
	}{
		{"many ids", func(i uint64) Msg {
			return Msg{Kind: KindHello, From: 10 + i, Topics: []Topic{{ID: TopicID(i + 1), Hops: 1, Name: "t"}}}
		}},
		{"large topic lists", func(i uint64) Msg {
			ts := make([]Topic, 64)
			for j := range ts {
				ts[j] = Topic{ID: TopicID(i<<8 | uint64(j) + 1), Hops: 1, Name: name}
			}
			return Msg{Kind: KindHello, From: 1<<40 + i, Topics: ts}
		}},
		{"syncs", func(i uint64) Msg { return Msg{Kind: KindSync, From: 1<<50 + i, Digest: i} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Evictions
			for i := range uint64(2 * n.view.maxPeers) {
				m := tt.msg(i)
				n.Handle(time.Millisecond, &m)
				n.Outbox()
				n.Events()
			}
			if len(n.view.peers) > n.view.maxPeers {
				t.Errorf("peers: %d, want at most %d", len(n.view.peers), n.view.maxPeers)
			}
			if n.view.bytes > n.view.maxBytes || n.view.bytes != sumBytes(n) {
				t.Errorf("view bytes: %d (sum %d), want at most %d", n.view.bytes, sumBytes(n), n.view.maxBytes)
			}
			if len(n.lastMention) > n.table.len()+len(n.local) {
				t.Errorf("mentions: %d, want at most the %d assigned or local topics", len(n.lastMention), n.table.len()+len(n.local))
			}
			if len(n.syncAnswer) > n.view.maxPeers {
				t.Errorf("pending snapshot answers: %d, want at most %d", len(n.syncAnswer), n.view.maxPeers)
			}
			if tt.name != "syncs" && n.Evictions == before {
				t.Error("no eviction counted")
			}
			if tt.name == "syncs" && len(n.syncAnswer) == 0 {
				t.Error("no snapshot answer pending: the test does not reach the bound")
			}
		})
	}
	t.Run("hello larger than the bound", func(t *testing.T) {
		before := n.Evictions
		ts := make([]Topic, n.view.maxBytes/len(name)+1)
		for j := range ts {
			ts[j] = Topic{ID: TopicID(j + 1), Hops: 1, Name: name}
		}
		m := Msg{Kind: KindHello, From: 1 << 60, Topics: ts}
		n.Handle(time.Millisecond, &m)
		if n.Knows(1<<60) || n.Evictions != before+1 {
			t.Errorf("an oversized HELLO was taken (known %v, evictions %d, want %d)", n.Knows(1<<60), n.Evictions, before+1)
		}
	})
}

func sumBytes(n *Node) int {
	b := 0
	for _, p := range n.view.peers {
		b += p.bytes
	}
	return b
}

// TestForgedGroups checks that PREPAREs, ACCEPTs, NACKs and COMMITs naming
// groups outside the range, as a forged or corrupted datagram would, leave
// nothing behind: the per-group state stays within the range.
func TestForgedGroups(t *testing.T) {
	const size = 16
	n := New(Config{Self: 1 << 62, Size: size, Control: size, Heartbeat: time.Second, Seed: 1})
	n.Tick(0)
	n.Outbox()
	for i := range uint32(1000) {
		g := size + i*7919
		for _, m := range []Msg{
			{Kind: KindPrepare, From: 5, Group: g, Ballot: Ballot{Round: 1 + i, Node: 5}},
			{Kind: KindAccept, From: 5, Group: g, Ballot: Ballot{Round: 1 + i, Node: 5}, Value: 9},
			{Kind: KindNack, From: 5, To: n.Self(), Group: g, NextGen: 3, AccBallot: Ballot{Round: 2 + i, Node: 5}},
			{Kind: KindCommit, From: 5, Group: g, Gen: 1, Ballot: Ballot{Round: 1, Node: 5}, Value: 9},
		} {
			n.Handle(time.Millisecond, &m)
		}
		if out := n.Outbox(); len(out) != 0 {
			t.Fatalf("answered a message for group %d, outside the range: %+v", g, out[0])
		}
	}
	for name, l := range map[string]int{"maxRound": len(n.maxRound), "liveGen": len(n.liveGen), "acceptors": len(n.acceptors), "table": n.table.len()} {
		if l != 0 {
			t.Errorf("%s holds %d groups outside the range, want 0", name, l)
		}
	}
}

// TestForgedCommits checks that COMMITs naming ever new topics, each
// replacing the last on one group, leave mentions only of the topics the
// table holds.
func TestForgedCommits(t *testing.T) {
	n := New(Config{Self: 1 << 62, Size: 16, Control: 16, Heartbeat: time.Second, Seed: 1})
	n.Tick(0)
	for i := range uint32(1000) {
		m := Msg{Kind: KindCommit, From: 5, Group: 3, Gen: i, Ballot: Ballot{Round: 1, Node: 5}, Value: TopicID(100 + i)}
		n.Handle(time.Millisecond, &m)
	}
	n.Outbox()
	if n.table.len() != 1 {
		t.Fatalf("table: %v, want the last commit", n.Table())
	}
	if len(n.lastMention) > n.table.len()+len(n.local) {
		t.Errorf("mentions: %d, want at most the %d assigned or local topics", len(n.lastMention), n.table.len()+len(n.local))
	}
}

// TestForgedViewSize checks that a PROMISE reporting a view larger than any
// node can have (MaxPeers peers and itself) counts as that largest view: a
// view size of 2^32-1 would otherwise make the quorum 2^31, which no
// relocation reaches.
func TestForgedViewSize(t *testing.T) {
	const size = 16
	names := collidingNames(2, size, size)
	n := New(Config{Self: 7, Size: size, Control: size, Heartbeat: 100 * time.Millisecond, Seed: 1})
	n.view.maxPeers = 4 // largest view: 5, quorum 3
	n.Tick(0)
	n.SetInterest(0, Topic{ID: IDOf(names[0]), Name: names[0], Hops: 1}, true)
	now := time.Second
	n.Handle(now, &Msg{Kind: KindHello, From: 9, ViewSize: 3})
	n.Handle(now, &Msg{Kind: KindHello, From: 11, ViewSize: 3})
	n.Tick(now)
	n.SetInterest(now, Topic{ID: IDOf(names[1]), Name: names[1], Hops: 1}, true)
	p := n.proposal
	if p == nil || p.phase != 1 {
		t.Fatalf("no relocation in phase 1: %+v", p)
	}
	for _, m := range []Msg{
		{Kind: KindPromise, From: 9, To: n.Self(), Group: p.group, Gen: p.gen, Ballot: p.ballot, ViewSize: 1<<32 - 1},
		{Kind: KindPromise, From: 11, To: n.Self(), Group: p.group, Gen: p.gen, Ballot: p.ballot, ViewSize: 3},
	} {
		n.Handle(now, &m)
	}
	if p.phase != 2 {
		t.Fatalf("three promises of five possible nodes did not reach phase 2 (quorum %d)", n.quorum(p))
	}
}
