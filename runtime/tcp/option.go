package tcp

import (
	"crypto/tls"
	"fmt"
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

// An Option configures a [Transport] made by [Listen] or [Dial].
//
// Options are applied in order, the last one of a setting winning; then
// Listen or Dial validates the result once. A zero value means the
// documented default. A value that cannot work, whether security-relevant
// (such as a TLS configuration a listener cannot serve with) or merely out
// of its documented range (such as a negative duration), makes Listen or
// Dial return an error wrapping [ErrConfig]: no option falls back to a
// default, insecure or not, in silence, and none is clamped.
type Option interface {
	apply(*config)
}

type config struct {
	tlsSet            bool // WithTLS was given, nil or not
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

// Bounds of the options below.
const (
	maxMaxFrameSize      = 1 << 30
	maxSendQueueSize     = 1 << 20
	minHeartbeatInterval = time.Millisecond
	maxDuration          = 24 * time.Hour // of every duration option
)

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// validate checks c as the options left it, for a listener or a dialer,
// and fills in the defaults of the settings left zero. Errors wrap
// [ErrConfig].
func (c *config) validate(listener bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	if c.tlsSet {
		if err := checkTLS(c.tls, listener); err != nil {
			return err
		}
	}
	switch {
	case c.maxFrame == 0:
		c.maxFrame = DefaultMaxFrameSize
	case c.maxFrame < minFrameSize || c.maxFrame > maxMaxFrameSize:
		return bad("max frame size %d outside %d..%d", c.maxFrame, minFrameSize, maxMaxFrameSize)
	}
	switch {
	case c.queueSize == 0:
		c.queueSize = DefaultSendQueueSize
	case c.queueSize < 1 || c.queueSize > maxSendQueueSize:
		return bad("send queue size %d outside 1..%d", c.queueSize, maxSendQueueSize)
	}
	if c.overflow < plexo.OverflowDropOldest || c.overflow > plexo.OverflowBlock {
		return bad("unknown overflow policy %d", c.overflow)
	}
	switch {
	case c.heartbeatInterval == 0:
		c.heartbeatInterval = DefaultHeartbeatInterval
	case c.heartbeatInterval < minHeartbeatInterval || c.heartbeatInterval > maxDuration:
		return bad("heartbeat interval %v outside %v..%v", c.heartbeatInterval, minHeartbeatInterval, maxDuration)
	}
	switch {
	case c.heartbeatTimeout == 0:
		c.heartbeatTimeout = 3 * c.heartbeatInterval
	case c.heartbeatTimeout < 2*c.heartbeatInterval || c.heartbeatTimeout > 3*maxDuration:
		return bad("heartbeat timeout %v outside two intervals (%v)..%v", c.heartbeatTimeout, 2*c.heartbeatInterval, 3*maxDuration)
	}
	if c.backoffMin < 0 || c.backoffMax < 0 || c.backoffMin > maxDuration || c.backoffMax > maxDuration {
		return bad("backoff %v..%v outside 0..%v", c.backoffMin, c.backoffMax, maxDuration)
	}
	if c.backoffMin == 0 {
		c.backoffMin = min(DefaultBackoffMin, max(c.backoffMax, 1))
	}
	if c.backoffMax == 0 {
		c.backoffMax = max(DefaultBackoffMax, c.backoffMin)
	}
	if c.backoffMax < c.backoffMin {
		return bad("backoff maximum %v below its minimum %v", c.backoffMax, c.backoffMin)
	}
	switch {
	case c.handshakeTimeout == 0:
		c.handshakeTimeout = DefaultHandshakeTimeout
	case c.handshakeTimeout < 0 || c.handshakeTimeout > maxDuration:
		return bad("handshake timeout %v outside 0..%v", c.handshakeTimeout, maxDuration)
	}
	return nil
}

// checkTLS rejects a TLS configuration that cannot work, or would not
// authenticate what its settings ask for. Errors wrap [ErrConfig].
func checkTLS(cfg *tls.Config, listener bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("TLS: %s: %w", fmt.Sprintf(format, args...), ErrConfig)
	}
	if cfg == nil {
		return bad("nil configuration")
	}
	if cfg.MinVersion != 0 && cfg.MinVersion < tls.VersionTLS12 {
		return bad("minimum version %s below TLS 1.2", tls.VersionName(cfg.MinVersion))
	}
	if cfg.MaxVersion != 0 && cfg.MaxVersion < max(cfg.MinVersion, tls.VersionTLS12) {
		return bad("maximum version %s below the minimum", tls.VersionName(cfg.MaxVersion))
	}
	if listener {
		if cfg.GetConfigForClient != nil {
			return nil // what it returns is chosen per connection
		}
		if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
			return bad("a listener needs Certificates, GetCertificate or GetConfigForClient")
		}
		callback := cfg.VerifyPeerCertificate != nil || cfg.VerifyConnection != nil
		verifies := cfg.ClientAuth == tls.VerifyClientCertIfGiven || cfg.ClientAuth == tls.RequireAndVerifyClientCert
		if verifies && cfg.ClientCAs == nil && !callback {
			return bad("ClientAuth %v verifies client certificates but ClientCAs is nil", cfg.ClientAuth)
		}
		if cfg.ClientAuth == tls.RequireAnyClientCert && !callback {
			return bad("ClientAuth %v requires client certificates but nothing verifies them", cfg.ClientAuth)
		}
		return nil
	}
	if cfg.InsecureSkipVerify && cfg.VerifyPeerCertificate == nil && cfg.VerifyConnection == nil {
		return bad("InsecureSkipVerify without VerifyPeerCertificate or VerifyConnection authenticates no listener")
	}
	return nil
}

// WithTLS secures connections with TLS. A listener uses cfg as its server
// configuration (set ClientAuth to tls.RequireAndVerifyClientCert and
// ClientCAs for mutual TLS); a dialer uses it as its client configuration,
// with ServerName taken from the dialed address when cfg leaves it empty.
// The default, without WithTLS, is plain TCP. [ErrConfig] reports a cfg
// that cannot secure anything: nil; a MinVersion below TLS 1.2; for a
// listener, no Certificates, GetCertificate or GetConfigForClient, a
// ClientAuth that verifies client certificates with no ClientCAs (nor
// VerifyPeerCertificate or VerifyConnection), or RequireAnyClientCert with
// neither callback, which would require certificates that nothing checks;
// for a dialer,
// InsecureSkipVerify without VerifyPeerCertificate or VerifyConnection.
func WithTLS(cfg *tls.Config) Option { return tlsOption{cfg} }

// WithMaxFrameSize sets the largest frame, in bytes, this side accepts (a
// frame is a message's topic, payload and about 20 bytes of framing); it is
// announced in the handshake, and a peer sending more is disconnected. A
// message larger than the peer's limit is not sent: [Transport.Send]
// reports [plexo.ErrMessageTooLarge]. The default, and what 0 means, is
// [DefaultMaxFrameSize] (16 MiB); [ErrConfig] reports a value outside 64
// bytes .. 1 GiB.
func WithMaxFrameSize(n int) Option { return maxFrameOption(n) }

// WithSendQueueSize sets how many messages each peer's send queue holds
// before the [WithOverflow] policy applies. Whatever the count, a queue
// holds at most 2 MiB (or a single larger message). The default, and what 0
// means, is [DefaultSendQueueSize]; [ErrConfig] reports a value outside
// 1 .. 1<<20.
func WithSendQueueSize(n int) Option { return queueSizeOption(n) }

// WithOverflow sets what Send does when a peer's queue is full:
// [plexo.OverflowDropOldest] (the default) discards that peer's oldest
// queued message, [plexo.OverflowDropNewest] the arriving one, and
// [plexo.OverflowBlock] waits for room within Send's context. Drops are
// counted in [Transport.Stats]. Other peers are never held up by one
// peer's full queue, except under OverflowBlock, where a publisher waits
// for the slowest peer that wants its message. [ErrConfig] reports any
// other value.
func WithOverflow(policy plexo.Overflow) Option { return overflowOption(policy) }

// WithHeartbeat sets how long a connection may stay idle before this side
// sends a PING, and how long a peer may stay silent before it is considered
// dead and disconnected (a dialer then reconnects). A side pings when it
// has written nothing for an interval, so a peer that is alive is never
// silent much longer than its interval; the timeout must be at least two
// intervals, which tolerates a late beat. The defaults, and what 0 means,
// are [DefaultHeartbeatInterval] and three intervals; [ErrConfig] reports
// an interval outside 1 ms .. 24 h or a timeout outside two intervals .. 72 h.
func WithHeartbeat(interval, timeout time.Duration) Option {
	return heartbeatOption{interval, timeout}
}

// WithBackoff bounds the delay between a dialer's connection attempts: the
// first retry waits about min, each failure doubles the delay up to max,
// and each delay is jittered randomly between half and all of it. A
// successful handshake resets the delay. The defaults, and what 0 means,
// are [DefaultBackoffMin] (or max, if smaller) and [DefaultBackoffMax] (or
// min, if larger); [ErrConfig] reports a value outside 0 .. 24 h or a max
// below min.
// Listeners ignore it.
func WithBackoff(min, max time.Duration) Option { return backoffOption{min, max} }

// WithHandshakeTimeout bounds the TLS and plexo handshakes of a connection.
// The default, and what 0 means, is [DefaultHandshakeTimeout]; [ErrConfig]
// reports a value outside 0 .. 24 h.
func WithHandshakeTimeout(d time.Duration) Option { return handshakeTimeoutOption(d) }

type tlsOption struct{ cfg *tls.Config }

func (o tlsOption) apply(c *config) { c.tlsSet, c.tls = true, o.cfg }

type maxFrameOption int

func (o maxFrameOption) apply(c *config) { c.maxFrame = int(o) }

type queueSizeOption int

func (o queueSizeOption) apply(c *config) { c.queueSize = int(o) }

type overflowOption plexo.Overflow

func (o overflowOption) apply(c *config) { c.overflow = plexo.Overflow(o) }

type heartbeatOption struct{ interval, timeout time.Duration }

func (o heartbeatOption) apply(c *config) {
	c.heartbeatInterval, c.heartbeatTimeout = o.interval, o.timeout
}

type backoffOption struct{ min, max time.Duration }

func (o backoffOption) apply(c *config) { c.backoffMin, c.backoffMax = o.min, o.max }

type handshakeTimeoutOption time.Duration

func (o handshakeTimeoutOption) apply(c *config) { c.handshakeTimeout = time.Duration(o) }
