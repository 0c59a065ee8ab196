package tcp

import (
	"net"
	"slices"
)

// Counters count a peer's traffic, or a Transport's over all its peers.
type Counters struct {
	Sent          uint64 // data messages written to the connection
	Received      uint64 // data messages handed to the Plexus
	Dropped       uint64 // data messages lost: queue overflow, too large, queued when a connection ended, or in a failed write
	BytesSent     uint64 // bytes written, framing and control frames included
	BytesReceived uint64 // bytes read, framing and control frames included
}

func (c *Counters) add(o Counters) {
	c.Sent += o.Sent
	c.Received += o.Received
	c.Dropped += o.Dropped
	c.BytesSent += o.BytesSent
	c.BytesReceived += o.BytesReceived
}

// PeerStats describes one connected peer.
type PeerStats struct {
	ID     uint64   // the peer's Plexus ID, from its handshake
	Remote net.Addr // the peer's address
	Counters
	Queued int      // data messages waiting in its send queue
	Topics []string // topics the peer wants, sorted
}

// Stats is a snapshot of a Transport's counters, as returned by
// [Transport.Stats].
type Stats struct {
	// Counters are the totals over every peer, past and present.
	Counters
	// Peers are the peers connected now, by ID.
	Peers []PeerStats
	// Connects and Disconnects count handshaken connections that began and
	// ended.
	Connects, Disconnects uint64
	// AuthFailures counts connections and connection attempts that failed
	// TLS authentication, either way (see [ErrAuthentication]); a network
	// failure is not counted.
	AuthFailures uint64
	// LastError is why the latest connection or connection attempt ended,
	// or nil.
	LastError error
}

// Stats returns a snapshot of t's counters.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := Stats{
		Counters:     t.retired,
		Connects:     t.connects,
		Disconnects:  t.disconnects.Load(),
		AuthFailures: t.authFailures.Load(),
		LastError:    t.lastErr,
	}
	st.Dropped += t.lateDrops.Load()
	for p := range t.peers {
		ps := PeerStats{ID: p.id, Remote: p.conn.RemoteAddr(), Counters: p.counters()}
		ps.Queued = p.q.len()
		for topic := range p.wants {
			ps.Topics = append(ps.Topics, topic)
		}
		slices.Sort(ps.Topics)
		st.Counters.add(ps.Counters)
		st.Peers = append(st.Peers, ps)
	}
	slices.SortFunc(st.Peers, func(a, b PeerStats) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return st
}
