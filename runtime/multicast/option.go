package multicast

import (
	"math"
	"net/netip"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// Defaults of the options.
const (
	DefaultControlPort   = 5560
	DefaultDataPort      = 5561
	DefaultMTU           = 1400
	DefaultMaxMessage    = 16 << 20
	DefaultReceiveBuffer = 4 << 20
	DefaultTTL           = 1
	DefaultReplayWindow  = 30 * time.Second
	DefaultRepair        = 64       // messages kept per published topic for NAK repair
	RepairMaxMessage     = 64 << 10 // larger messages (datagrams included) are not kept for repair
)

// Repair timing: a receiver asks again for what is still missing every
// nakRetry, at most nakTries times in all; a sender resends one message at
// most once per resendHoldoff, however many receivers ask.
const (
	nakRetry      = 20 * time.Millisecond
	nakTries      = 3
	resendHoldoff = 5 * time.Millisecond
)

// Default address layout.
var (
	DefaultRange     = netip.MustParsePrefix("239.255.0.0/16")
	DefaultControl   = netip.MustParseAddr("239.255.0.80")
	DefaultRange6    = netip.MustParsePrefix("ff15::efff:0/112")
	DefaultControl6  = netip.MustParseAddr("ff15::efff:50")
	maxRangeAddrBits = 24
)

// An Option configures a [Transport].
type Option interface {
	apply(*config)
}

type config struct {
	iface        string
	ipv6         bool
	domain       uint32
	groups       netip.Prefix
	control      netip.Addr
	controlPort  uint16
	dataPort     uint16
	mtu          int
	maxMessage   int
	heartbeat    time.Duration
	roundTimeout time.Duration
	expiry       time.Duration
	keys         map[uint8][]byte
	sendKey      uint8
	rcvbuf       int
	ttl          int
	noLoopback   bool
	replay       time.Duration
	repair       int // messages kept per topic; 0: repair off
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithInterface sends and joins groups on the named network interface, such
// as "lo" or "eth0". The default is the system's choice.
func WithInterface(name string) Option { return optionFunc(func(c *config) { c.iface = name }) }

// WithIPv6 selects IPv6 multicast (default range ff15::efff:0/112, control
// group ff15::efff:50) instead of IPv4.
func WithIPv6() Option { return optionFunc(func(c *config) { c.ipv6 = true }) }

// WithDomain sets the domain carried in every datagram; datagrams of other
// domains are dropped, so unrelated deployments can share a LAN. Default 0.
func WithDomain(d uint32) Option { return optionFunc(func(c *config) { c.domain = d }) }

// WithGroupRange sets the range of data groups (default 239.255.0.0/16, or
// ff15::efff:0/112 with [WithIPv6]); at most 2^24 addresses are used.
func WithGroupRange(p netip.Prefix) Option {
	return optionFunc(func(c *config) {
		if p.IsValid() && p.Addr().IsMulticast() {
			c.groups = p.Masked()
		}
	})
}

// WithControlGroup sets the control group (default 239.255.0.80, or
// ff15::efff:50 with [WithIPv6]).
func WithControlGroup(a netip.Addr) Option {
	return optionFunc(func(c *config) {
		if a.IsMulticast() {
			c.control = a
		}
	})
}

// WithPorts sets the control and data ports (defaults 5560 and 5561); 0
// keeps a default.
func WithPorts(control, data uint16) Option {
	return optionFunc(func(c *config) {
		if control != 0 {
			c.controlPort = control
		}
		if data != 0 {
			c.dataPort = data
		}
	})
}

// WithMTU sets the largest datagram payload sent (default 1,400 bytes;
// values below 256 or above 65,000 keep it).
func WithMTU(n int) Option {
	return optionFunc(func(c *config) {
		if n >= 256 && n <= 65000 {
			c.mtu = n
		}
	})
}

// WithMaxMessageSize sets the largest message sent or reassembled (default
// 16 MiB; larger values than the format carries, 4 GiB − 1, mean that).
func WithMaxMessageSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxMessage = min(n, maxMessageLimit)
		}
	})
}

// maxMessageLimit is the largest message the frame format carries (its
// length is a u32), or the largest int where that is smaller.
var maxMessageLimit = int(min(uint64(math.MaxUint32), uint64(math.MaxInt)))

// WithHeartbeat sets the HELLO interval (default 1 s, jittered ±25%). A
// peer is gone after three missed heartbeats.
func WithHeartbeat(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.heartbeat = d
		}
	})
}

// WithRoundTimeout sets how long a Paxos phase waits for a quorum (default
// 50 ms).
func WithRoundTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.roundTimeout = d
		}
	})
}

// WithExpiry sets how long an assignment nobody mentions lives (default 2
// minutes).
func WithExpiry(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.expiry = d
		}
	})
}

// WithKeys authenticates every datagram with HMAC-SHA256 (truncated to 16
// bytes): keys maps key ids to secrets, send is the id this transport signs
// with. Frames with an unknown key id or a bad tag are dropped and counted.
// The default is no authentication.
func WithKeys(keys map[uint8][]byte, send uint8) Option {
	return optionFunc(func(c *config) {
		if _, ok := keys[send]; ok {
			c.keys, c.sendKey = keys, send
		}
	})
}

// WithReplayWindow sets how far a control message's timestamp may be from
// the receiver's clock when keys are set (default 30 s).
func WithReplayWindow(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.replay = d
		}
	})
}

// WithReceiveBuffer sets the socket receive buffer requested (default 4
// MiB); [Stats] reports what the kernel granted.
func WithReceiveBuffer(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.rcvbuf = n
		}
	})
}

// WithTTL sets the multicast TTL or hop limit (default 1: the local link;
// values outside 1 to 255 keep it).
func WithTTL(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 && n < 256 {
			c.ttl = n
		}
	})
}

// WithLoopback sets whether processes on this host receive what this one
// sends (default true).
func WithLoopback(on bool) Option { return optionFunc(func(c *config) { c.noLoopback = !on }) }

// WithRepair sets how many recent messages of each topic it publishes a
// transport keeps to answer NAKs (default 64, also for n = 0; at most
// 65536: receivers take no repair from further back; messages over 64 KiB
// are not kept); a negative n turns repair off. With repair on, a receiver
// that sees a gap in a sender's sequence numbers asks the sender, on the
// control group, to multicast the missing messages again (three tries,
// 20 ms apart); a repaired message is delivered late, out of order.
// Delivery stays at most once. A receiver accepts repairs up to max(n, 64)
// messages behind the newest one it has seen from that sender (at most
// 65536), so give every node of a domain the same n.
func WithRepair(n int) Option {
	return optionFunc(func(c *config) {
		switch {
		case n < 0:
			c.repair = 0
		case n == 0:
			c.repair = DefaultRepair
		default:
			c.repair = min(n, repair.MaxWindow)
		}
	})
}

func newConfig(opts []Option) config {
	c := config{
		controlPort: DefaultControlPort,
		dataPort:    DefaultDataPort,
		mtu:         DefaultMTU,
		maxMessage:  DefaultMaxMessage,
		rcvbuf:      DefaultReceiveBuffer,
		ttl:         DefaultTTL,
		replay:      DefaultReplayWindow,
		repair:      DefaultRepair,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if !c.groups.IsValid() {
		c.groups = DefaultRange
		if c.ipv6 {
			c.groups = DefaultRange6
		}
	}
	if !c.control.IsValid() {
		c.control = DefaultControl
		if c.ipv6 {
			c.control = DefaultControl6
		}
	}
	return c
}
