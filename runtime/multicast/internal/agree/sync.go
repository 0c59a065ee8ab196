package agree

import (
	"cmp"
	"slices"
	"time"
)

// A node answers a SYNC whose digest differs from its own with a SNAPSHOT
// of its table, the lowest-ranked node first, the others suppressed when
// they see it. A SYNC costs its sender one small datagram and the answer
// is the whole table, so each node sends at most one snapshot addressed to
// a requester per heartbeat: the SYNCs that come within a heartbeat of it
// are answered together, by one snapshot addressed to everyone at its end.
// A late joiner whose SYNC comes first still gets the table at once.

func (n *Node) onSync(m *Msg) {
	if m.Digest == n.table.digest || n.table.len() == 0 {
		return // nothing the requester lacks
	}
	if _, ok := n.syncAnswer[m.From]; ok {
		return // answering already
	}
	rank := n.rank(m.From)
	if rank == 0 {
		n.answerSync(m.From, rank)
		return
	}
	if len(n.syncAnswer) >= n.view.maxPeers {
		n.scheduleSnapshot(rank) // flooded: one snapshot answers them all
		return
	}
	n.syncAnswer[m.From] = n.now + time.Duration(rank)*n.cfg.SyncDelay
}

// rank is how many nodes in the view, other than the requester, answer a
// SYNC before this one.
func (n *Node) rank(requester uint64) int { return n.view.rank(n.cfg.Self, requester) }

// answerSync sends the table to requester, or, within a heartbeat of the
// last snapshot this node sent, owes one to everyone.
func (n *Node) answerSync(requester uint64, rank int) {
	if n.snapshotSent && n.now < n.lastSnapshot+n.cfg.Heartbeat {
		n.scheduleSnapshot(rank)
		return
	}
	n.sendSnapshot(requester)
}

// scheduleSnapshot schedules one snapshot for everyone a heartbeat after
// the last one, later by rank so that the lowest-ranked node's suppresses
// the others'.
func (n *Node) scheduleSnapshot(rank int) {
	if n.snapshotDue {
		return
	}
	n.snapshotDue = true
	n.snapshotDueAt = max(n.now, n.lastSnapshot+n.cfg.Heartbeat) + time.Duration(rank)*n.cfg.SyncDelay
}

// answerSyncs sends the answers that fell due, earliest first, then in
// order of requester id: the order decides which requester gets the table
// addressed to it and which wait for the snapshot to everyone, so it must
// not depend on the map's.
func (n *Node) answerSyncs() {
	var due []uint64
	for req, at := range n.syncAnswer {
		if n.now >= at {
			due = append(due, req)
		}
	}
	slices.SortFunc(due, func(a, b uint64) int {
		if c := cmp.Compare(n.syncAnswer[a], n.syncAnswer[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, req := range due {
		delete(n.syncAnswer, req)
		n.answerSync(req, n.rank(req))
	}
	if n.snapshotDue && n.now >= n.snapshotDueAt {
		n.snapshotDue = false
		if n.table.len() > 0 {
			n.sendSnapshot(0)
		}
	}
}

func (n *Node) sendSnapshot(to uint64) {
	n.lastSnapshot, n.snapshotSent = n.now, true
	n.send(Msg{Kind: KindSnapshot, From: n.cfg.Self, To: to, Entries: n.Table()})
}

func (n *Node) onSnapshot(m *Msg) {
	if m.To == 0 {
		// Another node answered everyone: suppress ours.
		clear(n.syncAnswer)
		n.snapshotDue = false
	} else {
		delete(n.syncAnswer, m.To) // another node answered: suppress ours
	}
	if m.To != n.cfg.Self && m.To != 0 {
		return
	}
	var mentioned map[TopicID]struct{}
	for _, e := range m.Entries {
		n.apply(e, &mentioned)
	}
}
