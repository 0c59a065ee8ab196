package multicast

import (
	"errors"
	"fmt"
	"net"
	"strings"
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

// errorf is [fmt.Errorf] for errors that wrap errors of this package, whose
// texts repeat the "multicast: " prefix the new text begins with: it leaves the
// repetitions out, so that the prefix appears once. The result unwraps like
// fmt.Errorf's.
func errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &prefixedError{text: oncePrefixed(err.Error(), "multicast: "), err: err}
}

// oncePrefixed removes from s the copies of prefix that follow a ": ".
func oncePrefixed(s, prefix string) string {
	if rest, ok := strings.CutPrefix(s, prefix); ok {
		return prefix + strings.ReplaceAll(rest, ": "+prefix, ": ")
	}
	return s
}

// A prefixedError is the error of [errorf].
type prefixedError struct {
	text string
	err  error
}

func (e *prefixedError) Error() string { return e.text }
func (e *prefixedError) Unwrap() error { return e.err }

// multicastOff says that ifi has multicast off, and how to turn it on.
func multicastOff(ifi *net.Interface) string {
	fix := "ip link set " + ifi.Name + " multicast on"
	if ifi.Flags&net.FlagLoopback != 0 {
		fix += " && ip route add 224.0.0.0/4 dev " + ifi.Name
	}
	return fmt.Sprintf("interface %q has multicast off; turn it on, as root, with: %s", ifi.Name, fix)
}
