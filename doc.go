// Package plexo is schema-first, typed publish/subscribe where the message
// type is the address.
//
// A program never configures topic strings or endpoints by hand. It says "I
// publish brewery.sensors.v1.Temperature" or "I react to it", and a [Plexus]
// delivers each message to the handlers in the same process (without
// encoding it) and, through every attached [Transport], to the processes that
// want it.
//
// Most programs do not use this package's generic API directly: they write a
// .proto schema and run protoc-gen-go and protoc-gen-plexo, which emit, for a
// message Temperature,
//
//	const TemperatureTopicName = "brewery.sensors.v1.Temperature.proto"
//	var TemperatureTopic = plexo.NewTopic[*Temperature](TemperatureTopicName)
//	func PublishTemperature(ctx context.Context, p *plexo.Plexus, msg *Temperature) error
//	func SubscribeTemperature(ctx context.Context, p *plexo.Plexus, h func(context.Context, *Temperature), opts ...plexo.SubscribeOption) (*plexo.Subscription, error)
//
// # Delivery semantics
//
// Delivery is at most once. A message published while nobody wants it goes
// nowhere (counted in [Plexus.Stats] as published only), and one that
// overflows a subscription's bounded queue (see [Overflow]) is dropped and
// counted. Each subscription runs its handler on its own goroutine (or, with
// [WithInline], on the delivering one), one message at a time, in the order
// one publisher published them.
//
// In-process delivery never encodes: a local handler receives the very value
// that was published. Nobody may mutate a message after publishing it, and
// handlers must treat what they receive as read-only, since other handlers
// may be reading the same value concurrently.
//
// A message that leaves the process is encoded once, whatever the number of
// transports it goes to, and a message that arrives is decoded at most once,
// and only if a local handler wants it. A Plexus with several transports
// bridges them: what arrives on one is forwarded, still encoded, to the others
// whose peers want it, and every message carries an origin id and a sequence
// number so that cycles of bridges cannot loop or deliver twice.
//
// # Directory and raw messages
//
// Every Plexus announces the topics it publishes and subscribes, with their
// message types and codecs, and shares each type's self-contained
// FileDescriptorSet on request, unless [WithDescriptorSharing] turns that
// off. [Plexus.WatchDirectory] follows these announcements across every
// transport and bridge, so that a tool attached to any node of a system
// lists its topics and decodes them without their .proto files.
//
// Tools, recorders and bridges to other systems handle messages without
// their Go types through the raw API: [Plexus.SubscribeRaw] and
// [Plexus.SubscribeNamespace] deliver encoded [RawMessage] values, and
// [Plexus.PublishRaw] publishes encoded bytes by topic name. Interest,
// duplicate suppression and bridging work as for typed topics.
package plexo
