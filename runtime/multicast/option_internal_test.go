package multicast

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestOptionValues passes every option its bad and edge values: a value
// that cannot work makes newConfig (so New) fail with ErrConfig naming the
// option, and a value past a documented ceiling or zero is the documented
// setting.
func TestOptionValues(t *testing.T) {
	secret := []byte("0123456789abcdef") // MinKeySize bytes
	for _, c := range []struct {
		name  string
		opts  []Option
		fails string            // the option named in the error, "" when none
		check func(config) bool // the setting, when it does not fail
	}{
		{"keys nil", []Option{WithKeys(nil, 1)}, "WithKeys", nil},
		{"keys empty", []Option{WithKeys(map[uint8][]byte{}, 0)}, "WithKeys", nil},
		{"send key not in keys", []Option{WithKeys(map[uint8][]byte{1: secret}, 2)}, "WithKeys", nil},
		{"empty secret", []Option{WithKeys(map[uint8][]byte{1: nil}, 1)}, "WithKeys", nil},
		{"short send secret", []Option{WithKeys(map[uint8][]byte{1: secret[:15]}, 1)}, "WithKeys", nil},
		{"short other secret", []Option{WithKeys(map[uint8][]byte{1: secret, 9: []byte("x")}, 1)}, "WithKeys", nil},
		{"bad keys then good keys", []Option{WithKeys(nil, 1), WithKeys(map[uint8][]byte{1: secret}, 1)}, "",
			func(c config) bool { return c.sendKey == 1 && string(c.keys[1]) == string(secret) }},
		{"good keys then bad keys", []Option{WithKeys(map[uint8][]byte{1: secret}, 1), WithKeys(map[uint8][]byte{1: secret}, 7)}, "WithKeys", nil},
		{"group range invalid", []Option{WithGroupRange(netip.Prefix{})}, "WithGroupRange", nil},
		{"group range unicast", []Option{WithGroupRange(netip.MustParsePrefix("10.0.0.0/8"))}, "WithGroupRange", nil},
		{"control group unicast", []Option{WithControlGroup(netip.MustParseAddr("10.0.0.1"))}, "WithControlGroup", nil},
		{"control group zero", []Option{WithControlGroup(netip.Addr{})}, "WithControlGroup", nil},
		{"ports zero", []Option{WithPorts(0, 0)}, "",
			func(c config) bool { return c.controlPort == DefaultControlPort && c.dataPort == DefaultDataPort }},
		{"mtu zero", []Option{WithMTU(0)}, "", func(c config) bool { return c.mtu == DefaultMTU }},
		{"mtu small", []Option{WithMTU(255)}, "WithMTU", nil},
		{"mtu large", []Option{WithMTU(65001)}, "WithMTU", nil},
		{"mtu negative", []Option{WithMTU(-1)}, "WithMTU", nil},
		{"mtu edges", []Option{WithMTU(256)}, "", func(c config) bool { return c.mtu == 256 }},
		{"max message negative", []Option{WithMaxMessageSize(-1)}, "WithMaxMessageSize", nil},
		{"max message zero", []Option{WithMaxMessageSize(0)}, "", func(c config) bool { return c.maxMessage == DefaultMaxMessage }},
		{"max message huge", []Option{WithMaxMessageSize(int(^uint(0) >> 1))}, "", func(c config) bool { return c.maxMessage == maxMessageLimit }},
		{"heartbeat negative", []Option{WithHeartbeat(-time.Second)}, "WithHeartbeat", nil},
		{"heartbeat tiny", []Option{WithHeartbeat(time.Microsecond)}, "WithHeartbeat", nil},
		{"heartbeat zero", []Option{WithHeartbeat(0)}, "", func(c config) bool { return c.heartbeat == 0 }},
		{"round timeout negative", []Option{WithRoundTimeout(-1)}, "WithRoundTimeout", nil},
		{"round timeout tiny", []Option{WithRoundTimeout(time.Nanosecond)}, "WithRoundTimeout", nil},
		{"expiry negative", []Option{WithExpiry(-time.Minute)}, "WithExpiry", nil},
		{"expiry set", []Option{WithExpiry(time.Minute)}, "", func(c config) bool { return c.expiry == time.Minute }},
		{"replay negative", []Option{WithReplayWindow(-1)}, "WithReplayWindow", nil},
		{"replay tiny", []Option{WithReplayWindow(time.Microsecond)}, "WithReplayWindow", nil},
		{"replay zero", []Option{WithReplayWindow(0)}, "", func(c config) bool { return c.replay == DefaultReplayWindow }},
		{"receive buffer negative", []Option{WithReceiveBuffer(-1)}, "WithReceiveBuffer", nil},
		{"receive buffer zero", []Option{WithReceiveBuffer(0)}, "", func(c config) bool { return c.rcvbuf == DefaultReceiveBuffer }},
		{"ttl negative", []Option{WithTTL(-1)}, "WithTTL", nil},
		{"ttl large", []Option{WithTTL(256)}, "WithTTL", nil},
		{"ttl zero", []Option{WithTTL(0)}, "", func(c config) bool { return c.ttl == DefaultTTL }},
		{"ttl max", []Option{WithTTL(255)}, "", func(c config) bool { return c.ttl == 255 }},
		{"repair negative", []Option{WithRepair(-1)}, "", func(c config) bool { return c.repair == 0 }},
		{"repair zero", []Option{WithRepair(0)}, "", func(c config) bool { return c.repair == DefaultRepair }},
		{"repair huge", []Option{WithRepair(1 << 30)}, "", func(c config) bool { return c.repair == 65536 }},
		{"nil option", []Option{nil}, "", func(c config) bool { return c.mtu == DefaultMTU }},
		{"bad value fixed by a later call", []Option{WithTTL(300), WithTTL(4)}, "", func(c config) bool { return c.ttl == 4 }},
		{"two bad options", []Option{WithTTL(300), WithMTU(1)}, "WithMTU", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := newConfig(c.opts)
			if c.fails != "" {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("newConfig = %v, want an error wrapping ErrConfig", err)
				}
				if !strings.Contains(err.Error(), c.fails+": ") {
					t.Errorf("newConfig = %q, want it to name %s", err, c.fails)
				}
				return
			}
			if err != nil {
				t.Fatalf("newConfig = %v", err)
			}
			if !c.check(cfg) {
				t.Errorf("newConfig = %+v: not the documented setting", cfg)
			}
		})
	}
}

// TestKeysFailClosed checks that New refuses keys that cannot
// authenticate, before opening any socket, with one "multicast: " prefix.
func TestKeysFailClosed(t *testing.T) {
	tr, err := New(t.Context(), WithKeys(map[uint8][]byte{1: []byte("0123456789abcdef")}, 2))
	if err == nil {
		tr.Close()
		t.Fatal("New with a send key not in keys succeeded")
	}
	if !errors.Is(err, ErrConfig) {
		t.Errorf("New = %v, want ErrConfig", err)
	}
	if n := strings.Count(err.Error(), "multicast: "); n != 1 {
		t.Errorf("New = %q: the prefix appears %d times", err, n)
	}
}

// TestKeysCopied checks that changing the caller's map or secret after
// WithKeys changes nothing.
func TestKeysCopied(t *testing.T) {
	keys := map[uint8][]byte{1: []byte("0123456789abcdef")}
	o := WithKeys(keys, 1)
	keys[1][0] = 'X'
	keys[2] = []byte("another secret!!")
	cfg, err := newConfig([]Option{o})
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.keys[1]) != "0123456789abcdef" || len(cfg.keys) != 1 {
		t.Errorf("keys = %q: the caller's changes leaked in", cfg.keys)
	}
}
