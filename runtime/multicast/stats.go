package multicast

import "sync/atomic"

// counters are a transport's traffic counters, which [Transport.Stats]
// reads.
type counters struct {
	sent, datagramsSent, sendErrors              atomic.Uint64
	datagrams, received, gaps                    atomic.Uint64
	replays, controlSent, controlReceived        atomic.Uint64
	relocations, repaired, repairs, repairMisses atomic.Uint64
	naksSent, naksReceived, senderEvictions      atomic.Uint64
	// dropped counts the datagrams dropped, by reason (countDrop).
	dropped [dropReasons]atomic.Uint64
}

// countDrop counts a datagram dropped for reason d, unless d is one of the
// reasons counted nowhere.
func (c *counters) countDrop(d dropReason) {
	if d >= firstCountedDrop {
		c.dropped[d].Add(1)
	}
}

// Stats counts a transport's traffic.
type Stats struct {
	Sent            uint64 // messages sent
	DatagramsSent   uint64 // data datagrams sent (fragments, and copies on the old group during relocation)
	SendErrors      uint64 // datagrams the socket refused
	Datagrams       uint64 // data datagrams received on the joined groups' sockets
	Received        uint64 // messages delivered to the Plexus
	Unwanted        uint64 // datagrams of topics not subscribed here (groups shared by a collision)
	Duplicates      uint64 // messages dropped as already received
	Gaps            uint64 // messages found missing from sequence gaps (Gaps − Repaired were lost)
	Repaired        uint64 // missing messages received later, resent after a NAK
	NAKsSent        uint64 // NAKs this node sent for missing messages
	NAKsReceived    uint64 // NAKs addressed to this node
	Repairs         uint64 // messages this node sent again, answering NAKs
	RepairMisses    uint64 // messages asked for that this node no longer held
	BadFrames       uint64 // malformed datagrams
	OtherDomain     uint64 // datagrams of another domain
	AuthFailures    uint64 // datagrams with a missing, unknown or bad tag
	Replays         uint64 // control messages rejected by the replay window
	ReassemblyDrops uint64 // messages dropped by the reassembly bounds
	Truncated       uint64 // datagrams larger than this node's MTU (and 2 KiB) lost at the socket, each asked for again when repair is on (see WithMTU)
	ControlSent     uint64 // control datagrams sent
	ControlReceived uint64 // control messages accepted
	Relocations     uint64 // relocations of topics of local interest
	SenderEvictions uint64 // (sender, topic) sequence states evicted by the cap, MaxSenderStates
	SenderStates    int    // (sender, topic) pairs whose sequence numbers are followed
	PeerEvictions   uint64 // peers evicted from the membership view by its bounds, and HELLOs too large for them
	ReceiveBuffer   int    // receive buffer granted by the kernel (control socket), bytes
	Groups          int    // data groups joined
	Peers           int    // nodes heard, this one included
	Assignments     int    // entries of the group table
}

// Stats returns the transport's counters.
func (t *Transport) Stats() Stats {
	s := Stats{
		Sent:            t.counters.sent.Load(),
		DatagramsSent:   t.counters.datagramsSent.Load(),
		SendErrors:      t.counters.sendErrors.Load(),
		Datagrams:       t.counters.datagrams.Load(),
		Received:        t.counters.received.Load(),
		Gaps:            t.counters.gaps.Load(),
		Repaired:        t.counters.repaired.Load(),
		NAKsSent:        t.counters.naksSent.Load(),
		NAKsReceived:    t.counters.naksReceived.Load(),
		Repairs:         t.counters.repairs.Load(),
		RepairMisses:    t.counters.repairMisses.Load(),
		Replays:         t.counters.replays.Load(),
		ControlSent:     t.counters.controlSent.Load(),
		ControlReceived: t.counters.controlReceived.Load(),
		Relocations:     t.counters.relocations.Load(),
		SenderEvictions: t.counters.senderEvictions.Load(),
		ReceiveBuffer:   t.ctrlBuf,
		// The drop counters, by reason.
		Unwanted:        t.counters.dropped[dropUnwanted].Load(),
		Duplicates:      t.counters.dropped[dropDuplicate].Load(),
		BadFrames:       t.counters.dropped[dropBadFrame].Load(),
		OtherDomain:     t.counters.dropped[dropOtherDomain].Load(),
		AuthFailures:    t.counters.dropped[dropAuth].Load(),
		ReassemblyDrops: t.counters.dropped[dropReassembly].Load(),
		Truncated:       t.counters.dropped[dropTruncated].Load(),
	}
	t.seqMu.Lock()
	s.SenderStates = len(t.seqs)
	t.seqMu.Unlock()
	t.mu.Lock()
	s.Groups = len(t.groups.sockets)
	if t.node != nil {
		s.Peers = t.node.ViewSize()
		s.Assignments = len(t.node.Table())
		s.PeerEvictions = t.node.Evictions
	}
	t.mu.Unlock()
	return s
}
