package plexo

import (
	"context"
	"log/slog"
)

// A Transport carries encoded messages between a [Plexus] and other
// processes: the TCP, multicast and NATS transports in runtime/ implement it,
// and runtime/pipe connects two Plexus values in one process. Programs only
// create transports and hand them to [Plexus.Attach]; the methods below are
// the contract between a Plexus and a transport's implementer.
//
// A Plexus calls Start once, then Advertise and Send from any goroutine,
// possibly concurrently, and finally Close once.
type Transport interface {
	// Start binds the transport to the Plexus that attached it. The
	// transport reports what arrives, and what its peers want, through h.
	// Start must not block on the network.
	Start(h Host) error

	// Advertise tells the transport's peers how far, in Plexus hops, the
	// nearest subscriber of the topic reached through this Plexus is: 1 when
	// this Plexus's own handlers want it, more when the subscriber lies
	// beyond bridges, and 0 when nobody reached through this Plexus wants it
	// any more. The Plexus calls it only on changes, in order. Peers report
	// the value back through [Host.SetInterest] on their side.
	//
	// A transport with several peers (a listener) forwards between its own
	// peers too, acting as one more hop: it tells each peer the smaller of
	// what the Plexus advertises and one more than the distance its other
	// peers report.
	//
	// Advertise must not block and must not call back into the Host. The
	// Plexus calls it holding its own lock, which [Host.SetInterest] takes:
	// so a transport must never hold a lock that Advertise takes while it
	// calls SetInterest (see [Host.SetInterest]).
	Advertise(topic string, hops int)

	// Send transmits msg to every peer that wants msg.Topic, except
	// msg.Source. msg and msg.Payload belong to the caller and may be reused
	// as soon as Send returns: a transport that queues must copy them.
	//
	// Send may block, within ctx, only when the transport's overflow policy
	// says so; a slow peer must not hold up its other peers. Errors concern
	// this transport only; the Plexus counts and logs them.
	Send(ctx context.Context, msg *Message) error

	// Close stops the transport and waits for its goroutines. It is safe to
	// call more than once.
	Close() error
}

// An UnfilteredTransport is a [Transport] whose peers cannot tell in advance
// what they want, such as a multicast transport where a receiver's kernel
// filters by group: the Plexus sends it every message published or forwarded,
// whatever interest it reported.
type UnfilteredTransport interface {
	Transport
	// Unfiltered reports whether the transport wants every message.
	Unfiltered() bool
}

// MaxHops is the farthest, in Plexus hops, that interest in a topic travels
// across bridges. Distances beyond it count as no interest: that is what
// ends interest circling a cycle of bridges after its subscriber has gone.
const MaxHops = 16

// A Host is a Plexus as its transports see it. Its methods are safe for
// concurrent use. Once the Plexus is closed, Deliver (and DeliverBatch, see
// [BatchHost]) drops what arrives and SetInterest changes no interest (it
// may still list the topic, idle, in [Plexus.Stats]); Logger and ID keep
// answering.
type Host interface {
	// Deliver hands the Plexus a message that arrived. The Plexus drops
	// duplicates (by origin and sequence), decodes the message at most once
	// for its local handlers, and forwards it, still encoded, to its other
	// transports whose peers want it. msg and its payload are only read
	// during the call.
	Deliver(msg *Message)

	// SetInterest records how far, in Plexus hops, the nearest subscriber of
	// the topic reached through this transport is: 1 for a peer's own
	// handlers, the smallest distance over all the transport's peers, and 0
	// when no peer wants the topic any more. Values outside 0..[MaxHops]
	// count as 0.
	//
	// SetInterest takes the Plexus's lock and, before returning, calls
	// [Transport.Advertise] on the attached transports, the caller's
	// included. A transport must therefore call it holding no lock that its
	// Advertise takes, and must make its reports for a topic arrive in the
	// order of the changes they report (runtime/tcp serialises them with a
	// mutex of their own, which Advertise never takes): the last report
	// wins.
	SetInterest(topic string, hops int)

	// Logger is the Plexus's logger, for transports to log through.
	Logger() *slog.Logger

	// ID is the Plexus's random 64-bit identity, used as the origin of the
	// messages it publishes. Transports may use it as their peer id.
	ID() uint64
}

// A BatchHost is a [Host] that also takes several arrived messages in one
// call. The Host that a Plexus passes to [Transport.Start] is always a
// BatchHost; a transport that receives many messages at once (runtime/tcp
// hands over every frame that one read of its socket brought) finds it
// with a type assertion, and falls back on [Host.Deliver] for a Host that
// is not one, such as a test's.
//
// A batch costs the Plexus one pass of its duplicate filter, one route
// lookup per run of consecutive messages of one topic, and one queueing per
// subscription and run, which wakes a subscription's goroutine at most
// once: under load, subscriptions see bursts rather than single messages.
type BatchHost interface {
	Host

	// DeliverBatch hands the Plexus messages that arrived, in the order
	// they arrived, as if [Host.Deliver] were called with each in turn:
	// every subscription receives them in that order, with the same
	// duplicate suppression, decoding and forwarding. Messages of one
	// topic that follow one another are handed to each subscription
	// together, before any of them is forwarded to other transports. msgs
	// and their payloads are only read during the call.
	//
	// It reports whether it handed any of the messages to a goroutine that
	// it woke, a subscription's that waited for messages, rather than
	// running every handler on the calling goroutine ([WithInline]). A
	// transport serving request/reply traffic yields (runtime.Gosched)
	// after handing over a lone request only then, so that the woken
	// handler replies before the transport's next read, and an inline
	// handler's reply costs no yield.
	DeliverBatch(msgs []Message) (woke bool)
}

// A Message is an encoded message in transit between processes. Its fields
// are what every plexo wire format carries (see schema/plexo/v1/envelope.proto).
type Message struct {
	// Topic is the topic name, such as "brewery.sensors.v1.Temperature.proto".
	Topic string
	// Payload is the message encoded with the topic's codec.
	Payload []byte
	// Origin is the ID of the Plexus that published the message.
	Origin uint64
	// Sequence increases with every message its origin publishes, so that
	// (Origin, Sequence) identifies a message for duplicate suppression.
	Sequence uint64
	// Source identifies the peer the message arrived from, as set by the
	// transport that received it (compared with ==); nil for a message
	// published in this process. A transport never sends a message back to
	// its Source.
	Source any
}
