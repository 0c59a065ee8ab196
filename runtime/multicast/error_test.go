package multicast_test

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestNewErrors checks that New's errors name the package once, unwrap to
// their sentinel, and say how to fix what has one obvious fix. None of these
// cases reaches the network: New fails before opening a socket.
func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []multicast.Option
		is   error
		want string
	}{
		{"no such interface", []multicast.Option{multicast.WithInterface("plexo-none0")}, multicast.ErrInterface,
			`multicast: new: bad interface "plexo-none0": `},
		{"ipv6 with ipv4 groups", []multicast.Option{multicast.WithIPv6(), multicast.WithGroupRange(netip.MustParsePrefix("239.255.0.0/16"))}, multicast.ErrConfig,
			"multicast: new: group range 239.255.0.0/16 and control group"},
		{"a single group", []multicast.Option{multicast.WithGroupRange(netip.MustParsePrefix("239.255.0.1/32"))}, multicast.ErrConfig,
			"multicast: new: group range 239.255.0.1/32 too small: invalid configuration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := multicast.New(t.Context(), c.opts...)
			if err == nil {
				tr.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("New = %v, want %v", err, c.is)
			}
			if n := strings.Count(err.Error(), "multicast: "); n != 1 {
				t.Errorf("New = %q: the prefix appears %d times", err, n)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("New = %q, want it to begin %q", err, c.want)
			}
		})
	}
}

// TestMulticastOffError turns multicast off on the loopback of a private
// network namespace, and checks that New says how to turn it on.
func TestMulticastOffError(t *testing.T) {
	if !netns(t) {
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "multicast", "off").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo multicast off: %v: %s", err, out)
	}
	tr, err := multicast.New(t.Context(), multicast.WithInterface("lo"))
	if err == nil {
		tr.Close()
		t.Fatal("New succeeded on an interface with multicast off")
	}
	want := `multicast: new: bad interface: interface "lo" has multicast off; turn it on, as root, with: ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo`
	if err.Error() != want || !errors.Is(err, multicast.ErrInterface) {
		t.Fatalf("New = %q\nwant  %q, wrapping ErrInterface", err, want)
	}
}
