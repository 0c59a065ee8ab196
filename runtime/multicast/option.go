package multicast

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
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

// MinKeySize is the shortest secret [WithKeys] accepts, in bytes.
const MinKeySize = 16

// An Option configures a [Transport]. Options are applied in order, the
// last of a setting winning, and [New] validates the result once: see the
// package documentation for what a bad value does.
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
	if len(c.errs) == 0 {
		return nil
	}
	names := make([]string, 0, len(c.errs))
	for name := range c.errs {
		names = append(names, name)
	}
	slices.Sort(names)
	errs := make([]error, len(names))
	for i, name := range names {
		errs[i] = c.errs[name]
	}
	return errors.Join(errs...)
}

// badValue is the error of an option's bad value: it wraps [ErrConfig].
func badValue(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrConfig)...)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithInterface sends and joins groups on the named network interface, such
// as "lo" or "eth0". The default, also for "", is the system's choice; a
// name no interface has, or one with multicast off, makes [New] fail with
// [ErrInterface].
func WithInterface(name string) Option { return optionFunc(func(c *config) { c.iface = name }) }

// WithIPv6 selects IPv6 multicast (default range ff15::efff:0/112, control
// group ff15::efff:50) instead of IPv4.
func WithIPv6() Option { return optionFunc(func(c *config) { c.ipv6 = true }) }

// WithDomain sets the domain carried in every datagram; datagrams of other
// domains are dropped, so unrelated deployments can share a LAN. Default 0;
// every value is valid.
func WithDomain(d uint32) Option { return optionFunc(func(c *config) { c.domain = d }) }

// WithGroupRange sets the range of data groups (default 239.255.0.0/16, or
// ff15::efff:0/112 with [WithIPv6]); at most 2^24 addresses are used. A
// prefix that is not valid, not multicast, of the other address family
// than the control group, or of a single address makes [New] fail with
// [ErrConfig].
func WithGroupRange(p netip.Prefix) Option {
	return optionFunc(func(c *config) {
		if !p.IsValid() || !p.Addr().IsMulticast() {
			c.bad("WithGroupRange", badValue("%v is not a multicast prefix", p))
			return
		}
		c.bad("WithGroupRange", nil)
		c.groups = p.Masked()
	})
}

// WithControlGroup sets the control group (default 239.255.0.80, or
// ff15::efff:50 with [WithIPv6]). An address that is not multicast, or of
// the other address family than the group range, makes [New] fail with
// [ErrConfig].
func WithControlGroup(a netip.Addr) Option {
	return optionFunc(func(c *config) {
		if !a.IsMulticast() {
			c.bad("WithControlGroup", badValue("%v is not a multicast address", a))
			return
		}
		c.bad("WithControlGroup", nil)
		c.control = a
	})
}

// WithPorts sets the control and data ports (defaults 5560 and 5561); 0
// keeps a default. Every other value is valid.
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

// WithMTU sets the largest datagram payload sent (default 1,400 bytes; 0
// keeps it). Values below 256 or above 65,000 make [New] fail with
// [ErrConfig]. Receivers read the datagrams waiting on a socket several at
// a time, each in room for the larger of this size and 2 KiB; a larger
// datagram, from a peer with a larger setting, is lost at the socket
// (counted in [Stats].Truncated) and asked for again as a repair would
// be, after which that socket reads one datagram at a time, of any size.
// Give a domain's nodes the same MTU.
func WithMTU(n int) Option {
	return optionFunc(func(c *config) {
		switch {
		case n == 0:
			c.bad("WithMTU", nil)
			c.mtu = DefaultMTU
		case n < 256 || n > 65000:
			c.bad("WithMTU", badValue("%d bytes is outside 256 to 65,000", n))
		default:
			c.bad("WithMTU", nil)
			c.mtu = n
		}
	})
}

// WithMaxMessageSize sets the largest message sent or reassembled (default
// 16 MiB; 0 keeps it). Values larger than the format carries, 4 GiB − 1,
// count as that; negative values make [New] fail with [ErrConfig].
func WithMaxMessageSize(n int) Option {
	return optionFunc(func(c *config) {
		switch {
		case n == 0:
			c.bad("WithMaxMessageSize", nil)
			c.maxMessage = DefaultMaxMessage
		case n < 0:
			c.bad("WithMaxMessageSize", badValue("%d bytes is negative", n))
		default:
			c.bad("WithMaxMessageSize", nil)
			c.maxMessage = min(n, maxMessageLimit)
		}
	})
}

// maxMessageLimit is the largest message the frame format carries (its
// length is a u32), or the largest int where that is smaller.
var maxMessageLimit = int(min(uint64(math.MaxUint32), uint64(math.MaxInt)))

// minPeriod is the shortest heartbeat or round timeout accepted: shorter
// ones would make the transport's loop spin.
const minPeriod = time.Millisecond

// duration sets *field from option's value d: 0 sets the default def, a
// value of at least least sets d, and anything shorter (negative values
// included) is recorded as bad.
func duration(c *config, option string, d, least, def time.Duration, field *time.Duration) {
	switch {
	case d == 0:
		c.bad(option, nil)
		*field = def
	case d < least:
		c.bad(option, badValue("%v is shorter than %v", d, least))
	default:
		c.bad(option, nil)
		*field = d
	}
}

// WithHeartbeat sets the HELLO interval (default 1 s, jittered ±25%; 0
// keeps it). A peer is gone after three missed heartbeats. Values below
// 1 ms, negative ones included, make [New] fail with [ErrConfig].
func WithHeartbeat(d time.Duration) Option {
	return optionFunc(func(c *config) { duration(c, "WithHeartbeat", d, minPeriod, 0, &c.heartbeat) })
}

// WithRoundTimeout sets how long a Paxos phase waits for a quorum (default
// 50 ms; 0 keeps it). Values below 1 ms, negative ones included, make [New]
// fail with [ErrConfig].
func WithRoundTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { duration(c, "WithRoundTimeout", d, minPeriod, 0, &c.roundTimeout) })
}

// WithExpiry sets how long an assignment nobody mentions lives (default 2
// minutes; 0 keeps it). Negative values make [New] fail with [ErrConfig].
func WithExpiry(d time.Duration) Option {
	return optionFunc(func(c *config) { duration(c, "WithExpiry", d, 1, 0, &c.expiry) })
}

// WithKeys authenticates every datagram with HMAC-SHA256 (truncated to 16
// bytes): keys maps key ids to secrets, send is the id this transport signs
// with. Frames with an unknown key id or a bad tag are dropped and counted.
// The default is no authentication. The keys are copied.
//
// WithKeys fails closed: no keys, a send id that is not in keys, or a
// secret shorter than [MinKeySize] bytes makes
// [New] fail with [ErrConfig] instead of running unauthenticated.
func WithKeys(keys map[uint8][]byte, send uint8) Option {
	var own map[uint8][]byte
	if keys != nil {
		own = make(map[uint8][]byte, len(keys))
		for id, secret := range keys {
			own[id] = bytes.Clone(secret)
		}
	}
	return optionFunc(func(c *config) {
		if err := checkKeys(own, send); err != nil {
			c.bad("WithKeys", err)
			return
		}
		c.bad("WithKeys", nil)
		c.keys, c.sendKey = own, send
	})
}

// checkKeys returns why keys and send cannot authenticate, or nil.
func checkKeys(keys map[uint8][]byte, send uint8) error {
	if len(keys) == 0 {
		return badValue("no keys")
	}
	if _, ok := keys[send]; !ok {
		return badValue("send key id %d is not in keys", send)
	}
	// The lowest short key is named, whatever the map's order.
	for id := range 256 {
		if secret, ok := keys[uint8(id)]; ok && len(secret) < MinKeySize {
			return badValue("key %d: %d-byte secret is shorter than %d bytes", id, len(secret), MinKeySize)
		}
	}
	return nil
}

// WithReplayWindow sets how far a control message's timestamp may be from
// the receiver's clock when keys are set (default 30 s; 0 keeps it).
// Values below 1 ms, negative ones included, make [New] fail with
// [ErrConfig].
func WithReplayWindow(d time.Duration) Option {
	return optionFunc(func(c *config) {
		duration(c, "WithReplayWindow", d, minPeriod, DefaultReplayWindow, &c.replay)
	})
}

// WithReceiveBuffer sets the socket receive buffer requested (default 4
// MiB; 0 keeps it); [Stats] reports what the kernel granted, which may be
// less. Negative values make [New] fail with [ErrConfig].
func WithReceiveBuffer(n int) Option {
	return optionFunc(func(c *config) {
		switch {
		case n < 0:
			c.bad("WithReceiveBuffer", badValue("%d bytes is negative", n))
		case n == 0:
			c.bad("WithReceiveBuffer", nil)
			c.rcvbuf = DefaultReceiveBuffer
		default:
			c.bad("WithReceiveBuffer", nil)
			c.rcvbuf = n
		}
	})
}

// WithTTL sets the multicast TTL or hop limit (default 1: the local link;
// 0 keeps it). Values outside 1 to 255 make [New] fail with [ErrConfig].
func WithTTL(n int) Option {
	return optionFunc(func(c *config) {
		switch {
		case n == 0:
			c.bad("WithTTL", nil)
			c.ttl = DefaultTTL
		case n < 0 || n > 255:
			c.bad("WithTTL", badValue("%d is outside 1 to 255", n))
		default:
			c.bad("WithTTL", nil)
			c.ttl = n
		}
	})
}

// WithLoopback sets whether processes on this host receive what this one
// sends (default true).
func WithLoopback(on bool) Option { return optionFunc(func(c *config) { c.noLoopback = !on }) }

// WithRepair sets how many recent messages of each topic it publishes a
// transport keeps to answer NAKs (default 64, also for n = 0; values above
// 65536 count as 65536: receivers take no repair from further back;
// messages over 64 KiB are not kept); a negative n turns repair off. With
// repair on, a receiver that sees a gap in a sender's sequence numbers asks the sender, on the
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

// newConfig applies opts over the defaults, and returns the options' bad
// values as an error wrapping [ErrConfig].
func newConfig(opts []Option) (config, error) {
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
	return c, c.err()
}
