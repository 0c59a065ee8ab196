// Package agree is the multicast transport's agreement protocol as a pure
// state machine: membership by HELLO heartbeats, relocation of colliding
// topics by single-decree Paxos per group address, COMMIT, SYNC/SNAPSHOT for
// late joiners and diverging tables, expiry, and partition healing.
//
// A [Node] has no sockets, no goroutines and no clock of its own: its inputs
// are received control messages ([Node.Handle]), timer ticks ([Node.Tick])
// and local interest ([Node.SetInterest]), each stamped with the caller's
// notion of "now"; its outputs are messages to send ([Node.Outbox]) and
// table changes ([Node.Events]). The transport wires it to real sockets; the
// tests drive it over a simulated network with a fake clock.
//
// Groups are indices into the configured range: group g is range.base + g.
package agree
