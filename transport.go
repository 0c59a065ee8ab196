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

	// Advertise tells the transport's peers whether this side wants messages
	// of the topic from now on. The Plexus calls it only on changes, in
	// order, for the topics its own handlers want and the topics that peers
	// of its other transports want (so that interest crosses bridges).
	//
	// A transport with several peers (a listener) forwards between its own
	// peers too: it tells each peer the union of what the Plexus advertises
	// and what its other peers want.
	//
	// Advertise must not block and must not call back into the Host.
	Advertise(topic string, wanted bool)

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

// A Host is a Plexus as its transports see it. Its methods are safe for
// concurrent use and become no-ops once the Plexus is closed.
type Host interface {
	// Deliver hands the Plexus a message that arrived. The Plexus drops
	// duplicates (by origin and sequence), decodes the message at most once
	// for its local handlers, and forwards it, still encoded, to its other
	// transports whose peers want it. msg and its payload are only read
	// during the call.
	Deliver(msg *Message)

	// SetInterest records that at least one peer reached through this
	// transport wants (or no longer wants) messages of the topic.
	SetInterest(topic string, wanted bool)

	// Logger is the Plexus's logger, for transports to log through.
	Logger() *slog.Logger

	// ID is the Plexus's random 64-bit identity, used as the origin of the
	// messages it publishes. Transports may use it as their peer id.
	ID() uint64
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
