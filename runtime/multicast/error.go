package multicast

import "errors"

// Errors returned by [New], wrapped with context; test them with [errors.Is].
var (
	// ErrInterface reports an interface that does not exist or cannot do
	// multicast.
	ErrInterface = errors.New("multicast: bad interface")
	// ErrConfig reports options that contradict each other, such as a
	// control group outside the address family.
	ErrConfig = errors.New("multicast: invalid configuration")
)
