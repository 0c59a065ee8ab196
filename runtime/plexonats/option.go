package plexonats

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultSubjectPrefix is the subject prefix unless [WithSubjectPrefix] says
// otherwise: topic brewery.sensors.v1.Temperature.proto travels on
// plexo.brewery.sensors.v1.Temperature.proto.
const DefaultSubjectPrefix = "plexo."

// Default pending limits of the transport's NATS subscriptions; see
// [WithPendingLimits].
const (
	DefaultPendingMessages = 65536
	DefaultPendingBytes    = 64 << 20
)

// DefaultInterestRefresh is how often a transport repeats the topics it
// subscribes to unless [WithInterestRefresh] says otherwise.
const DefaultInterestRefresh = 10 * time.Second

// MinInterestRefresh is the shortest interval [WithInterestRefresh]
// accepts.
const MinInterestRefresh = 10 * time.Millisecond

// An Option configures a [Transport]. Options are applied in order, the
// last of a setting winning, and [New] validates the result once: see the
// package documentation for what a bad value does.
type Option interface {
	apply(*config)
}

// WithSubjectPrefix sets the prefix that makes a topic name a NATS subject:
// subject = prefix + topic name. Every program sharing topics over NATS must
// use the same prefix. A prefix usually ends with '.'; it must not contain
// whitespace, '*' or '>', or empty tokens: such a prefix makes [New] fail
// with [ErrInvalidSubject]. The default is [DefaultSubjectPrefix]; "" keeps
// the default.
func WithSubjectPrefix(prefix string) Option { return prefixOption(prefix) }

// WithQueueGroup makes the transport's subscriptions join the NATS queue
// group name, so that each message reaches one member of the group instead
// of all of them: Plexus values in the same group share the load of the
// topics they subscribe to. A Plexus that publishes a topic handles its own
// messages in-process, whatever NATS chooses, so subscribe in the group
// from processes that do not also publish the topic. The default, "", is no
// queue group; a name NATS does not accept (with whitespace, say) makes
// [New] fail with [ErrInvalidQueueGroup].
func WithQueueGroup(name string) Option { return queueGroupOption(name) }

// WithPendingLimits bounds how many messages, and how many bytes, NATS
// buffers for each of the transport's subscriptions while the Plexus is busy
// (only a subscription with [plexo.OverflowBlock] makes it wait). Past
// either limit NATS drops what arrives, a "slow consumer"; the transport
// counts the drops in [Stats.Dropped] and logs them. The defaults are
// [DefaultPendingMessages] and [DefaultPendingBytes]; 0 keeps a default, and
// a negative value makes [New] fail with [ErrConfig] (NATS's "no limit" is
// not offered: it would let a stalled Plexus grow the process without
// bound).
func WithPendingLimits(messages, bytes int) Option { return pendingLimitsOption{messages, bytes} }

// WithRemoteInterest declares topics that consumers on NATS want whatever
// plexo transports announce, typically plain NATS clients: the transport
// reports them as wanted from the start, by a consumer one hop away (as if
// a Plexus on NATS subscribed to them), so a Plexus bridging NATS with
// other transports forwards them to NATS, and [plexo.Plexus.WaitForInterest]
// returns for them at once. Options accumulate. A topic that does not make
// a valid subject with the prefix (empty, or with whitespace, '*' or '>')
// makes [New] fail with [ErrInvalidSubject].
func WithRemoteInterest(topics ...string) Option { return remoteInterestOption(slices.Clone(topics)) }

// WithInterestExchange turns on or off the exchange of interest between
// plexonats transports (see the package documentation). Without it, a
// transport knows only the topics of [WithRemoteInterest]. The default is
// on; both values are valid.
func WithInterestExchange(enabled bool) Option { return interestExchangeOption(enabled) }

// WithInterestRefresh sets how often the transport repeats, to the other
// plexonats transports, the topics it subscribes to; they forget the
// interest of a transport they have not heard from for three of its
// intervals (one that crashed). The default is [DefaultInterestRefresh]; 0
// keeps it, values below [MinInterestRefresh] (negative ones included) make
// [New] fail with [ErrConfig], and values above an hour count as an hour,
// the longest interval other transports believe a peer announces (so that
// they do not forget it between two of its refreshes).
func WithInterestRefresh(d time.Duration) Option { return interestRefreshOption(d) }

type config struct {
	prefix          string
	queueGroup      string
	pendingMessages int
	pendingBytes    int
	remoteInterest  []string
	exchange        bool
	refresh         time.Duration

	// errs are the options' bad values, keyed by option so that the last
	// call of an option wins for its error as for its value.
	errs map[string]error
}

// bad records that option was given a value that cannot work, or clears
// what an earlier call of the option recorded when err is nil.
func (c *config) bad(option string, err error) {
	if err == nil {
		delete(c.errs, option)
		return
	}
	if c.errs == nil {
		c.errs = make(map[string]error)
	}
	c.errs[option] = fmt.Errorf("%s: %w", option, err)
}

// err returns the options' bad values, in option name order, or nil.
func (c *config) err() error {
	names := make([]string, 0, len(c.errs))
	for name := range c.errs {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		errs = append(errs, c.errs[name])
	}
	return errors.Join(errs...)
}

// newConfig applies opts over the defaults, and returns the options' bad
// values as an error wrapping [ErrConfig]. The prefix and queue group are
// checked by [New].
func newConfig(opts []Option) (config, error) {
	cfg := config{
		prefix:          DefaultSubjectPrefix,
		pendingMessages: DefaultPendingMessages,
		pendingBytes:    DefaultPendingBytes,
		exchange:        true,
		refresh:         DefaultInterestRefresh,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	return cfg, cfg.err()
}

type prefixOption string

func (o prefixOption) apply(c *config) {
	if o != "" {
		c.prefix = string(o)
	}
}

type queueGroupOption string

func (o queueGroupOption) apply(c *config) { c.queueGroup = string(o) }

type pendingLimitsOption struct{ messages, bytes int }

func (o pendingLimitsOption) apply(c *config) {
	if o.messages < 0 || o.bytes < 0 {
		c.bad("WithPendingLimits", fmt.Errorf("negative limit (%d messages, %d bytes): %w", o.messages, o.bytes, ErrConfig))
		return
	}
	c.bad("WithPendingLimits", nil)
	c.pendingMessages, c.pendingBytes = DefaultPendingMessages, DefaultPendingBytes
	if o.messages > 0 {
		c.pendingMessages = o.messages
	}
	if o.bytes > 0 {
		c.pendingBytes = o.bytes
	}
}

type remoteInterestOption []string

func (o remoteInterestOption) apply(c *config) { c.remoteInterest = append(c.remoteInterest, o...) }

type interestExchangeOption bool

func (o interestExchangeOption) apply(c *config) { c.exchange = bool(o) }

type interestRefreshOption time.Duration

func (o interestRefreshOption) apply(c *config) {
	d := time.Duration(o)
	switch {
	case d == 0:
		c.bad("WithInterestRefresh", nil)
		c.refresh = DefaultInterestRefresh
	case d < MinInterestRefresh:
		c.bad("WithInterestRefresh", fmt.Errorf("%v is shorter than %v: %w", d, MinInterestRefresh, ErrConfig))
	default:
		c.bad("WithInterestRefresh", nil)
		c.refresh = min(d, maxRefresh)
	}
}
