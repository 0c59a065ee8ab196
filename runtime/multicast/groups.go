package multicast

import (
	"context"
	"math"
	"net"
	"slices"
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
	// toJoin are the groups whose sockets subscribed topics wait for. The
	// joiner goroutine opens them without holding Transport.mu, so that
	// neither Advertise, the control reader nor the loop (heartbeats, NAK
	// retries) waits for a join.
	toJoin map[uint32]struct{}
	// joining is set while the joiner opens sockets without Transport.mu.
	joining bool
}

// A joined is a group socket the joiner opened, or the error opening it.
type joined struct {
	group   uint32
	conn    *net.UDPConn
	granted int
	err     error
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
// joined, after a grace period; t.mu held. A group nobody has joined yet
// is joined by the joiner goroutine (see openJoins), which follows the
// topic again once the socket is open; until then the topic keeps what it
// held. A failure to join (such as too many open files) is logged, and the
// loop queues it again every heartbeat.
func (t *Transport) follow(id agree.TopicID, local *localTopic) {
	g := t.node.Group(id)
	if local.joined && local.group == g {
		return
	}
	s := t.groups.sockets[g]
	if s == nil {
		if t.groups.toJoin == nil {
			t.groups.toJoin = make(map[uint32]struct{})
		}
		t.groups.toJoin[g] = struct{}{}
		select {
		case t.joinWake <- struct{}{}:
		default:
		}
		return
	}
	s.refs++
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
	t.followAll(false)
}

// followAll follows every subscribed topic, in topic id order, or, with
// opened, only those whose group has a socket (so that a failed join is not
// queued again before the retry); t.mu held. The topics that now hold a
// socket for the first time are announced to the node.
func (t *Transport) followAll(opened bool) {
	ids := make([]agree.TopicID, 0, len(t.interest))
	for id, local := range t.interest {
		if local.hops > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		local := t.interest[id]
		if opened && t.groups.sockets[t.node.Group(id)] == nil {
			continue
		}
		was := local.joined
		t.follow(id, local)
		if !was && local.joined {
			t.updateNode(id, local)
		}
	}
}

// joiner opens group sockets as subscribed topics need them, until Close.
func (t *Transport) joiner() {
	defer t.wg.Done()
	for {
		select {
		case <-t.quit:
			return
		case <-t.joinWake:
			t.openJoins()
		}
	}
}

// openJoins opens the sockets of the groups that subscribed topics wait
// for, called by the joiner without t.mu: opening a socket and joining a
// group are system calls that may be slow, and Advertise (called under the
// Plexus's lock) must not wait for them. It then installs the sockets and
// follows the subscribed topics again, under t.mu; a socket that no topic
// took (all unsubscribed meanwhile) is closed at once.
func (t *Transport) openJoins() {
	t.mu.Lock()
	if t.closed || len(t.groups.toJoin) == 0 {
		t.mu.Unlock()
		return
	}
	groups := make([]uint32, 0, len(t.groups.toJoin))
	for g := range t.groups.toJoin {
		if t.groups.sockets[g] == nil {
			groups = append(groups, g)
		}
	}
	clear(t.groups.toJoin)
	t.groups.joining = true
	t.mu.Unlock()
	slices.Sort(groups)

	opened := make([]joined, len(groups))
	for i, g := range groups {
		opened[i] = joined{group: g}
		if t.joinHook != nil {
			if opened[i].err = t.joinHook(); opened[i].err != nil {
				continue
			}
		}
		opened[i].conn, opened[i].granted, opened[i].err = listenGroup(context.Background(), &t.cfg, t.ifi, t.layout.addr(g), t.cfg.dataPort)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups.joining = false
	if t.closed {
		for _, j := range opened {
			if j.conn != nil {
				j.conn.Close()
			}
		}
		return
	}
	for _, j := range opened {
		if j.err != nil {
			t.groups.joinFailed = true
			t.log.Warn("multicast: join", "group", t.layout.addr(j.group), "error", j.err)
			continue
		}
		t.groups.sockets[j.group] = &groupSock{conn: j.conn, granted: j.granted}
		t.wg.Add(1)
		go t.readData(j.conn)
	}
	t.followAll(true)
	for _, j := range opened {
		if s := t.groups.sockets[j.group]; j.err == nil && s.refs == 0 {
			delete(t.groups.sockets, j.group)
			s.conn.Close()
		}
	}
	t.afterNode()
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
