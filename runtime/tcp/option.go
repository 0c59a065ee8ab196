package tcp

import (
	"crypto/tls"
	"time"

	"github.com/plexo-go/plexo"
)

// Defaults of the options below.
const (
	DefaultMaxFrameSize      = 16 << 20
	DefaultSendQueueSize     = 4096
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultBackoffMin        = 100 * time.Millisecond
	DefaultBackoffMax        = 5 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
)

// maxQueueBytes bounds the bytes a peer's send queue holds, whatever its
// message count, so that a slow peer of large messages cannot exhaust memory.
const maxQueueBytes = 2 << 20

// An Option configures a [Transport] made by [Listen] or [Dial]. Options are
// applied in order, the last one winning; a value out of range leaves the
// documented default.
type Option interface {
	apply(*config)
}

type config struct {
	tls               *tls.Config
	maxFrame          int
	queueSize         int
	overflow          plexo.Overflow
	heartbeatInterval time.Duration
	heartbeatTimeout  time.Duration
	backoffMin        time.Duration
	backoffMax        time.Duration
	handshakeTimeout  time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		maxFrame:          DefaultMaxFrameSize,
		queueSize:         DefaultSendQueueSize,
		overflow:          plexo.OverflowDropOldest,
		heartbeatInterval: DefaultHeartbeatInterval,
		backoffMin:        DefaultBackoffMin,
		backoffMax:        DefaultBackoffMax,
		handshakeTimeout:  DefaultHandshakeTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.heartbeatTimeout <= c.heartbeatInterval {
		c.heartbeatTimeout = 3 * c.heartbeatInterval
	}
	if c.backoffMax < c.backoffMin {
		c.backoffMax = c.backoffMin
	}
	return c
}

// WithTLS secures connections with TLS. A listener uses cfg as its server
// configuration (set ClientAuth to tls.RequireAndVerifyClientCert and
// ClientCAs for mutual TLS); a dialer uses it as its client configuration,
// with ServerName taken from the dialed address when cfg leaves it empty.
// The default is plain TCP; nil keeps it.
func WithTLS(cfg *tls.Config) Option { return tlsOption{cfg} }

// WithMaxFrameSize sets the largest frame, in bytes, this side accepts (a
// frame is a message's topic, payload and about 20 bytes of framing); it is
// announced in the handshake, and a peer sending more is disconnected. A
// message larger than the peer's limit is not sent: [Transport.Send]
// reports [plexo.ErrMessageTooLarge]. The default is [DefaultMaxFrameSize]
// (16 MiB); values below 64 or above 1 GiB keep the default.
func WithMaxFrameSize(n int) Option { return maxFrameOption(n) }

// WithSendQueueSize sets how many messages each peer's send queue holds
// before the [WithOverflow] policy applies. Whatever the count, a queue
// holds at most 2 MiB (or a single larger message). The default is [DefaultSendQueueSize]; values below
// 1 keep it.
func WithSendQueueSize(n int) Option { return queueSizeOption(n) }

// WithOverflow sets what Send does when a peer's queue is full:
// [plexo.OverflowDropOldest] (the default) discards that peer's oldest
// queued message, [plexo.OverflowDropNewest] the arriving one, and
// [plexo.OverflowBlock] waits for room within Send's context. Drops are
// counted in [Transport.Stats]. Other peers are never held up by one
// peer's full queue, except under OverflowBlock, where a publisher waits
// for the slowest peer that wants its message.
func WithOverflow(policy plexo.Overflow) Option { return overflowOption(policy) }

// WithHeartbeat sets how long a connection may stay idle before this side
// sends a PING, and how long a peer may stay silent before it is considered
// dead and disconnected (a dialer then reconnects). Both sides ping, so a
// timeout of a few intervals tolerates a lost beat. The defaults are
// [DefaultHeartbeatInterval] and three intervals; values not above zero
// keep the default interval, and a timeout not above the interval becomes
// three intervals.
func WithHeartbeat(interval, timeout time.Duration) Option {
	return heartbeatOption{interval, timeout}
}

// WithBackoff bounds the delay between a dialer's connection attempts: the
// first retry waits about min, each failure doubles the delay up to max,
// and each delay is jittered randomly between half and all of it. A
// successful handshake resets the delay. The defaults are
// [DefaultBackoffMin] and [DefaultBackoffMax]; values not above zero keep
// them. Listeners ignore it.
func WithBackoff(min, max time.Duration) Option { return backoffOption{min, max} }

// WithHandshakeTimeout bounds the TLS and plexo handshakes of a connection.
// The default is [DefaultHandshakeTimeout]; values not above zero keep it.
func WithHandshakeTimeout(d time.Duration) Option { return handshakeTimeoutOption(d) }

type tlsOption struct{ cfg *tls.Config }

func (o tlsOption) apply(c *config) {
	if o.cfg != nil {
		c.tls = o.cfg
	}
}

type maxFrameOption int

func (o maxFrameOption) apply(c *config) {
	if o >= minFrameSize && o <= 1<<30 {
		c.maxFrame = int(o)
	}
}

type queueSizeOption int

func (o queueSizeOption) apply(c *config) {
	if o >= 1 {
		c.queueSize = int(o)
	}
}

type overflowOption plexo.Overflow

func (o overflowOption) apply(c *config) {
	if p := plexo.Overflow(o); p >= plexo.OverflowDropOldest && p <= plexo.OverflowBlock {
		c.overflow = p
	}
}

type heartbeatOption struct{ interval, timeout time.Duration }

func (o heartbeatOption) apply(c *config) {
	if o.interval > 0 {
		c.heartbeatInterval = o.interval
	}
	c.heartbeatTimeout = o.timeout
}

type backoffOption struct{ min, max time.Duration }

func (o backoffOption) apply(c *config) {
	if o.min > 0 {
		c.backoffMin = o.min
	}
	if o.max > 0 {
		c.backoffMax = o.max
	}
}

type handshakeTimeoutOption time.Duration

func (o handshakeTimeoutOption) apply(c *config) {
	if o > 0 {
		c.handshakeTimeout = time.Duration(o)
	}
}
