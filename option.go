package plexo

import (
	"log/slog"
	"time"
)

// A PlexusOption configures a [Plexus]. Options are applied in order, the
// last one winning; a value out of range leaves the documented default.
type PlexusOption interface {
	applyToPlexus(*plexusConfig)
}

// A SubscribeOption configures one subscription.
type SubscribeOption interface {
	applyToSubscription(*subscriptionConfig)
}

// An Option configures both a [Plexus] (as the default for its
// subscriptions) and a single subscription.
type Option interface {
	PlexusOption
	SubscribeOption
}

// A TopicOption configures a [Topic].
type TopicOption interface {
	applyToTopic(*topicConfig)
}

// DefaultQueueSize is the capacity of a subscription's queue unless
// [WithQueueSize] says otherwise.
const DefaultQueueSize = 1024

// WithQueueSize sets how many messages a subscription holds for its handler
// before its [Overflow] policy applies. Given to [New], it sets the default
// for every subscription of the Plexus. The default is [DefaultQueueSize];
// values below 1 keep the default.
//
// The subscription's goroutine takes queued messages in batches of up to
// n, at most 128, and calls the handler with each in turn; a batch it has
// taken no longer takes room in the queue, as a message received from a
// channel does not, so a subscription holds at most n messages plus one
// batch. [SubscriptionStats] counts both as queued.
func WithQueueSize(n int) Option { return queueSizeOption(n) }

// WithOverflow sets what a subscription does when its queue is full. Given to
// [New], it sets the default for every subscription of the Plexus. The
// default is [OverflowDropOldest].
func WithOverflow(policy Overflow) Option { return overflowOption(policy) }

// WithInline makes a subscription run its handler on the goroutine that
// delivers each message, with no queue and no hand-off: the publisher's
// goroutine for a message published in this process, the connection's
// reading goroutine for one that arrived from a transport. It is the
// option for the lowest latency and the least CPU per message.
//
// What it gives up: the isolation of the default goroutine per
// subscription. A slow inline handler slows its publisher, or the
// connection it arrived on and every other subscription behind that
// connection, and a handler that blocks blocks them. Queue size and
// overflow policy do not apply; nothing is ever dropped for a slow handler.
//
// What it keeps: one handler call at a time (calls from several delivering
// goroutines wait for each other), publish order from one publisher,
// duplicate suppression, interest and bridging, recovery and counting of
// panics, and [Subscription.Close], from inside the handler too.
func WithInline() SubscribeOption { return inlineOption{} }

// WithLogger sets the logger through which the Plexus and its transports
// report recovered handler panics, dropped messages and transport errors.
// The default is [slog.Default]; nil keeps the default.
func WithLogger(logger *slog.Logger) PlexusOption { return loggerOption{logger} }

// WithDedupOrigins bounds how many distinct origins a Plexus remembers for
// duplicate suppression. Only bridged topologies need it: past the bound, the
// origin heard from least recently is forgotten. The default is 4096.
func WithDedupOrigins(n int) PlexusOption { return dedupOriginsOption(n) }

// WithDescriptorSharing sets whether the Plexus announces its topics to
// the directory ([Plexus.WatchDirectory]): which topics it publishes and
// subscribes, with their message types and codecs, and on request the
// FileDescriptorSet of each message type, so that tools such as the plexo
// command can list and decode its topics without the .proto files. Sharing
// is on by default; turn it off where the schemas are private. A Plexus
// that does not share still forwards other processes' announcements across
// its bridges, and can still follow the directory itself.
func WithDescriptorSharing(on bool) PlexusOption { return descriptorSharingOption(on) }

// WithDirectoryRefresh sets how often a Plexus that shares its directory
// repeats its announcement while somebody follows the directory. Followers
// forget a Plexus's entries three intervals after its last announcement
// (sooner when it closes). The default is [DefaultDirectoryRefresh]; values
// below 100 ms keep the default, and values above 20 minutes count as 20
// minutes, as followers keep entries for at most an hour.
func WithDirectoryRefresh(d time.Duration) PlexusOption { return directoryRefreshOption(d) }

// WithCodec makes a topic encode with c instead of the codec its name selects.
// Every process using the topic must use the same codec; prefer naming the
// codec in the topic name.
func WithCodec(c Codec) TopicOption { return codecOption{c} }

// An Overflow policy says what a subscription does with a message that
// arrives while its queue is full.
type Overflow int

const (
	// OverflowDropOldest discards the oldest queued message to make room:
	// handlers see the freshest data. The default.
	OverflowDropOldest Overflow = iota
	// OverflowDropNewest discards the arriving message.
	OverflowDropNewest
	// OverflowBlock makes the publisher wait for room, within its context.
	// Messages arriving from transports wait too, which slows the peer that
	// sent them.
	OverflowBlock
)

// String returns the policy's name, such as "drop-oldest".
func (o Overflow) String() string {
	switch o {
	case OverflowDropOldest:
		return "drop-oldest"
	case OverflowDropNewest:
		return "drop-newest"
	case OverflowBlock:
		return "block"
	}
	return "overflow(invalid)"
}

type plexusConfig struct {
	logger           *slog.Logger
	dedupOrigins     int
	shareDescriptors bool
	directoryRefresh time.Duration
	sub              subscriptionConfig
}

type subscriptionConfig struct {
	queueSize int
	overflow  Overflow
	inline    bool
}

type topicConfig struct {
	codec Codec
}

func newPlexusConfig(opts []PlexusOption) plexusConfig {
	cfg := plexusConfig{
		logger:           slog.Default(),
		dedupOrigins:     4096,
		shareDescriptors: true,
		directoryRefresh: DefaultDirectoryRefresh,
		sub:              subscriptionConfig{queueSize: DefaultQueueSize, overflow: OverflowDropOldest},
	}
	for _, o := range opts {
		if o != nil {
			o.applyToPlexus(&cfg)
		}
	}
	return cfg
}

type queueSizeOption int

func (o queueSizeOption) applyToPlexus(c *plexusConfig) { o.applyToSubscription(&c.sub) }
func (o queueSizeOption) applyToSubscription(c *subscriptionConfig) {
	if o >= 1 {
		c.queueSize = int(o)
	}
}

type overflowOption Overflow

func (o overflowOption) applyToPlexus(c *plexusConfig) { o.applyToSubscription(&c.sub) }
func (o overflowOption) applyToSubscription(c *subscriptionConfig) {
	if Overflow(o) >= OverflowDropOldest && Overflow(o) <= OverflowBlock {
		c.overflow = Overflow(o)
	}
}

type inlineOption struct{}

func (inlineOption) applyToSubscription(c *subscriptionConfig) { c.inline = true }

type loggerOption struct{ logger *slog.Logger }

func (o loggerOption) applyToPlexus(c *plexusConfig) {
	if o.logger != nil {
		c.logger = o.logger
	}
}

type dedupOriginsOption int

func (o dedupOriginsOption) applyToPlexus(c *plexusConfig) {
	if o >= 1 {
		c.dedupOrigins = int(o)
	}
}

type descriptorSharingOption bool

func (o descriptorSharingOption) applyToPlexus(c *plexusConfig) { c.shareDescriptors = bool(o) }

type directoryRefreshOption time.Duration

func (o directoryRefreshOption) applyToPlexus(c *plexusConfig) {
	if d := time.Duration(o); d >= 100*time.Millisecond {
		c.directoryRefresh = min(d, 20*time.Minute)
	}
}

type codecOption struct{ codec Codec }

func (o codecOption) applyToTopic(c *topicConfig) {
	if o.codec != nil {
		c.codec = o.codec
	}
}
