package multicast

import (
	"context"
	"math"
	"net"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

// A groupMembership is the data groups a transport has joined: one socket
// per group, shared by the topics the group carries, and the groups kept
// after a relocation until their grace period ends. Guarded by
// Transport.mu.
type groupMembership struct {
	sockets map[uint32]*groupSock
	leaves  []leave
	// joinFailed is set when a subscribed topic may hold no socket: a
	// join failed, and the loop tries again.
	joinFailed bool
}

// A groupSock is the socket of one joined group.
type groupSock struct {
	conn    *net.UDPConn
	refs    int
	granted int
}

// A leave is a group to release once its grace period ends, at.
type leave struct {
	group uint32
	at    time.Time
}

// release drops a reference to group g's socket, and closes it (leaving
// the group) when none is left.
func (m *groupMembership) release(g uint32) {
	s := m.sockets[g]
	if s == nil {
		return
	}
	if s.refs--; s.refs <= 0 {
		delete(m.sockets, g)
		s.conn.Close()
	}
}

// leaveDue releases the groups whose grace period ended by now, and returns
// how long until the next one ends (the largest duration when none waits).
func (m *groupMembership) leaveDue(now time.Time) time.Duration {
	next := time.Duration(math.MaxInt64)
	kept := m.leaves[:0]
	for _, l := range m.leaves {
		if now.After(l.at) {
			m.release(l.group)
			continue
		}
		kept = append(kept, l)
		next = min(next, l.at.Sub(now))
	}
	m.leaves = kept
	return next
}

// closeAll closes every socket, leaving every group.
func (m *groupMembership) closeAll() {
	for g, s := range m.sockets {
		s.conn.Close()
		delete(m.sockets, g)
	}
}

// follow makes a subscribed topic hold the socket of the group now carrying
// it, make before break: the group it held is left once the new one is
// joined, after a grace period; t.mu held. A failure to join (such as too
// many open files) is logged, the topic keeps what it held, and the loop
// tries again every heartbeat.
func (t *Transport) follow(id agree.TopicID, local *localTopic) {
	g := t.node.Group(id)
	if local.joined && local.group == g {
		return
	}
	if err := t.join(g); err != nil {
		t.groups.joinFailed = true
		t.log.Warn("multicast: join", "topic", local.name, "group", t.layout.addr(g), "error", err)
		return
	}
	if local.joined {
		l := leave{group: local.group, at: time.Now().Add(t.moveGrace())}
		t.groups.leaves = append(t.groups.leaves, l)
		t.wakeBy(l.at)
	}
	local.joined, local.group = true, g
}

// moveGrace is how long a relocated topic's old group stays in use, make
// before break: subscribers keep it joined and publishers send on it too,
// for the same time, so that nothing is lost while peers move.
func (t *Transport) moveGrace() time.Duration { return 2 * t.heartbeat() }

// retryJoins follows the subscribed topics for which a join failed; t.mu
// held.
func (t *Transport) retryJoins() {
	if !t.groups.joinFailed {
		return
	}
	t.groups.joinFailed = false
	for id, local := range t.interest {
		if local.hops > 0 {
			t.follow(id, local)
		}
	}
}

// join opens (or shares) the socket of group g; t.mu held.
func (t *Transport) join(g uint32) error {
	if s := t.groups.sockets[g]; s != nil {
		s.refs++
		return nil
	}
	if t.joinHook != nil {
		if err := t.joinHook(); err != nil {
			return err
		}
	}
	conn, granted, err := listenGroup(context.Background(), &t.cfg, t.ifi, t.layout.addr(g), t.cfg.dataPort)
	if err != nil {
		return err
	}
	t.groups.sockets[g] = &groupSock{conn: conn, refs: 1, granted: granted}
	t.wg.Add(1)
	go t.readData(conn)
	return nil
}

// relocated moves a topic of local interest to its new group, make before
// break: subscribers join the new group and keep the old one for two
// heartbeats; publishers send on both meanwhile. t.mu held.
func (t *Transport) relocated(ev agree.Event) {
	t.counters.relocations.Add(1)
	local := t.interest[ev.Topic]
	if local == nil {
		return
	}
	grace := t.moveGrace()
	if local.hops > 0 {
		t.follow(ev.Topic, local)
	}
	p := t.pubs.named(local.name)
	if p != nil {
		p.old.Store(ev.Old)
		p.oldUntil.Store(time.Now().Add(grace).UnixNano())
		p.group.Store(ev.Group)
	}
	t.log.Debug("multicast: topic relocated", "topic", local.name, "from", t.layout.addr(ev.Old), "to", t.layout.addr(ev.Group))
}

// Group returns the multicast address currently carrying topic, as this
// transport sees it.
func (t *Transport) Group(topic string) string {
	id := agree.IDOf(topic)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.node == nil {
		return t.layout.addr(agree.Home(id, t.layout.size, t.layout.control)).String()
	}
	return t.layout.addr(t.node.Group(id)).String()
}
