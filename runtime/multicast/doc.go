// Package multicast is a [plexo.Transport] over IP multicast for programs on
// one LAN, with no configuration: every topic travels on its own multicast
// group, so a receiver's kernel drops the datagrams of topics nobody in the
// process subscribed to.
//
//	m, err := multicast.New(ctx, multicast.WithInterface("eth0"))
//	if err != nil { ... }
//	err = p.Attach(m)
//
// A topic's home group is a pure function of its name, so the first message
// of a new topic goes out at once. A subscription joins its group in the
// transport's own goroutine, never under the Plexus's lock: Subscribe
// returns before the group is joined, and what is published before the
// join completes (typically within a millisecond) is not received. Peers
// hear of a subscription only once its group is joined, so a publisher that
// waits with [plexo.Plexus.WaitForInterest] loses nothing to the join. Peers exchange HELLO heartbeats on a
// control group; when two active topics share a group, the one with the
// larger id moves to a free group chosen by a Paxos instance, make before
// break. Delivery never depends on groups being unique: every datagram
// carries the topic id and the first fragment the full name, checked before
// delivery. Delivery is at most once; losses are counted ([Transport.Stats]).
// NAK repair ([WithRepair], on by default) recovers most losses: a receiver
// that sees a gap in a sender's sequence numbers asks for the missing
// messages on the control group, and the sender multicasts again what its
// ring of recent messages still holds; repaired messages arrive late, out
// of order.
//
// IPv4 is the default: data groups in 239.255.0.0/16, control group
// 239.255.0.80 port 5560, data port 5561, TTL 1. [WithIPv6] selects ff15::/16
// with the same layout (ff15::efff:0/112). On loopback, multicast needs a
// route (ip route add 224.0.0.0/4 dev lo); firewalls must let UDP to these
// ports through.
//
// Without [WithKeys], nothing is authenticated: anyone on the LAN can send
// on the groups. With keys, every datagram carries a truncated HMAC-SHA256
// tag and control messages a timestamp checked against a replay window;
// frames with unknown keys or bad tags are dropped and counted. Payloads are
// never encrypted.
//
// Memory stays bounded whatever arrives from the network: sender ids are
// not trusted (a restarted node has a new one; without keys anyone can forge
// them). The DATA sequence state kept per (sender, topic) is dropped when
// the topic is no longer subscribed, when the sender left the membership
// view and was silent for max(3 heartbeats, 1 s), or after the assignment
// expiry without DATA, and is capped at [MaxSenderStates] entries, the
// least recently heard evicted ([Stats].SenderEvictions). The membership
// view is capped at 4096 peers and 16 MiB of announced topics, the least
// recently heard evicted ([Stats].PeerEvictions); reassembly and the replay
// window have their own bounds.
//
// Options follow one rule. [New] applies them in order (the last call of an
// option wins, for its value and its error) and validates the result once.
// Zero keeps an option's default where its documentation says so. A value
// that cannot work (negative, out of range, not multicast) makes New
// return an error wrapping [ErrConfig] that names the option; New never
// falls back to a default in its place. [WithKeys] fails closed the same
// way: no keys, a send id not in the keys or a secret shorter than
// [MinKeySize] is an error, never an unauthenticated transport. Only a
// value past a documented ceiling counts as the ceiling
// ([WithMaxMessageSize], [WithRepair]).
//
// The wire format and the agreement protocol are described in PROTOCOL.md
// beside this file, so that other languages can speak them.
package multicast
