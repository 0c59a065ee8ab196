package multicast

import (
	"errors"
	"fmt"
	"net"

	"github.com/plexo-go/plexo/runtime/internal/errprefix"
)

// Errors returned by [New], wrapped with context; test them with [errors.Is].
var (
	// ErrInterface reports an interface that does not exist or cannot do
	// multicast.
	ErrInterface = errors.New("multicast: bad interface")
	// ErrConfig reports options that contradict each other, such as a
	// control group outside the address family.
	ErrConfig = errors.New("multicast: invalid configuration")
)

// errorf is [fmt.Errorf] with the package's "multicast: " prefix written once,
// however many of the package's errors the result wraps.
func errorf(format string, args ...any) error {
	return errprefix.Errorf("multicast: ", format, args...)
}

// multicastOff says that ifi has multicast off, and how to turn it on.
func multicastOff(ifi *net.Interface) string {
	fix := "ip link set " + ifi.Name + " multicast on"
	if ifi.Flags&net.FlagLoopback != 0 {
		fix += " && ip route add 224.0.0.0/4 dev " + ifi.Name
	}
	return fmt.Sprintf("interface %q has multicast off; turn it on, as root, with: %s", ifi.Name, fix)
}
