// Package plexonats is a [plexo.Transport] over NATS: a Plexus attached to
// it reaches every plexo program, and every plain NATS client, on the same
// NATS system, across as many servers, clusters and sites as NATS spans.
//
//	nc, err := nats.Connect(url /* and NATS's own options: TLS, credentials... */)
//	t, err := plexonats.New(nc)
//	err = p.Attach(t)
//
// The transport works over a connection the program configured and owns:
// it never closes it and never replaces its handlers.
//
// # Options
//
// [New] applies the options in order (the last call of an option wins, for
// its value and its error) and validates the result once. Zero or "" keeps
// an option's default where its documentation says so. A value that cannot
// work makes New return an error naming the option and wrapping
// [ErrConfig] ([ErrInvalidSubject] and [ErrInvalidQueueGroup] for names NATS
// would refuse); New never falls back to a default in its place. Only a
// value past a documented ceiling counts as the ceiling
// ([WithInterestRefresh]).
//
// # Subjects
//
// A topic travels on the subject prefix + topic name, by default
// "plexo." + name, as in plexo.brewery.sensors.v1.Temperature.proto, so that
// plain NATS tools can subscribe to plexo.brewery.> and the like. A prefix or
// topic name that does not make a valid NATS subject (whitespace, '*' or '>',
// an empty token) is rejected with [ErrInvalidSubject]. The transport
// subscribes on exactly the subjects its Plexus wants, and unsubscribes when
// the Plexus stops wanting them; with [WithQueueGroup] the subscriptions join
// a queue group, so that each message is handled by one member of the group.
//
// # Wire format
//
// The message data is exactly the bytes of the topic's codec (binary
// protobuf for ".proto" topics), so a plain NATS client can proto.Unmarshal
// what plexo publishes and publish what plexo programs read. One NATS
// header carries what plexo needs to suppress duplicates when Plexus values
// bridge NATS with other transports:
//
//	Plexo-Id: <origin>:<sequence>
//
// where origin is the publishing Plexus's 64-bit ID in lowercase
// hexadecimal and sequence the message's sequence number from that origin
// in decimal, as in
//
//	Plexo-Id: 1f2e3d4c5b6a7988:42
//
// A message without this header, such as one from a plain NATS client, is
// delivered too. It has no identity, so the transport gives it one: each of
// its NATS subscriptions has a random origin of its own and numbers the
// plain messages it receives 1, 2, 3... in arrival order. A message whose
// header is unparsable, or repeated, is dropped and counted as malformed.
//
// NATS echoes a connection's own publishes to its subscriptions; the
// transport drops what arrives with its own Plexus's origin, so a Plexus
// that subscribes to what it publishes handles each message once.
//
// # Directory
//
// The directory of a running system (which topics each Plexus publishes and
// subscribes, and the descriptors of their message types; see
// [plexo.Plexus.WatchDirectory]) needs nothing of this transport: it
// travels as ordinary messages on plexo's reserved topics, so on NATS on the
// subjects "plexo.plexo.v1.DirectoryQuery.proto",
// "plexo.plexo.v1.Directory.proto" and "plexo.plexo.v1.DescriptorSet.proto"
// (with the default prefix), their payloads the binary protobuf messages of
// schema/plexo/v1/directory.proto. A plain NATS client can follow them too.
//
// # Interest
//
// NATS does not tell a client which subjects other clients subscribe to, so
// the transport is a [plexo.UnfilteredTransport]: its Plexus hands it every
// message published or bridged, and NATS's own interest routing delivers
// each only where a subscription wants it. So that [plexo.Plexus.WaitForInterest]
// works and a Plexus bridging NATS with other transports pulls from them
// what NATS consumers want, plexonats transports also tell each other which
// topics they subscribe to, and how far away, in Plexus hops, the nearest
// subscriber of each is (see [plexo.Transport]): 1 for the announcing
// Plexus's own handlers, more for subscribers beyond bridges. The distance
// is what makes interest die out when Plexus values are joined in a cycle,
// say by NATS and by a pipe or TCP as well: once the subscriber is gone,
// the distances the Plexus values announce each other grow until they pass
// [plexo.MaxHops] and count as none. NATS itself adds no hop, as every
// plexonats transport hears every other directly; a transport reports to
// its Plexus the smallest distance any other transport announces.
//
// The exchange runs on the subject _PLEXO.INTEREST.<prefix without its
// trailing dot>. Each message has the header Plexo-Origin (the sender's
// Plexus ID, in hexadecimal) and Plexo-Interest, its kind:
//
//	add     the sender subscribes to the listed subjects, at the listed distances
//	remove  the sender unsubscribed from the listed subjects
//	sync    the listed subjects, at their distances, are all the sender wants
//	query   the sender asks everyone for a sync
//	bye     the sender is gone
//
// add, remove and sync also have the header Plexo-Refresh, the sender's
// refresh interval in milliseconds, and list one subject a line ('\n'
// between lines), each followed by a space and the distance in decimal:
// 1 to [plexo.MaxHops] in add and sync, 0 in remove, as in
//
//	plexo.brewery.sensors.v1.Temperature.proto 2
//
// A message never exceeds the server's maximum payload (headers included):
// an add or remove too large for one is sent as several of its kind, and a
// sync as parts, each with the header Plexo-Part: i/n (1 ≤ i ≤ n ≤ 65536),
// sent in order. A receiver takes each part's subjects at once, as an add,
// and forgets what the sync leaves out only when part n arrives after parts
// 1 to n−1; a part out of sequence (one was lost) makes it forget nothing
// until the next complete sync. A subject too long for any message is not
// announced, and logged.
//
// A transport repeats a sync every refresh interval (see
// [WithInterestRefresh]), and for three more intervals once it has no
// subscription left; it answers every query, and announces after each
// reconnection, with a sync, empty if need be, so that a peer that missed
// a remove while disconnected forgets it. A transport forgets a peer not
// heard from for three of the peer's intervals. Plain NATS consumers do not take part: declare the
// topics they want with [WithRemoteInterest] on a bridging Plexus.
// [WithInterestExchange] turns the exchange off, for accounts not allowed
// to use that subject.
//
// # Delivery and faults
//
// Delivery is at most once, and one publisher's messages reach a
// subscription in publish order. When the connection drops, nats.go
// reconnects and restores the subscriptions by itself; messages published
// meanwhile are buffered by nats.go up to its reconnect buffer, and lost
// beyond it. Messages that NATS drops because a subscription fell behind its
// pending limits ([WithPendingLimits]), a "slow consumer", are counted in
// [Stats] and logged through the Plexus's logger.
package plexonats
