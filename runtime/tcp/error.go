package tcp

import (
	"errors"
	"fmt"

	"github.com/plexo-go/plexo/runtime/internal/errprefix"
)

// Sentinel errors that callers can test for with [errors.Is]. They reach
// callers from [Transport.WaitConnected], through [Stats.LastError], and in
// the Host's log when a connection or a connection attempt ends.
var (
	// ErrConfig reports options that cannot work, returned by [Listen] and
	// [Dial]: a security-relevant option whose value would leave
	// connections less secure than asked, or a value outside an option's
	// documented range. See [Option].
	ErrConfig = errors.New("tcp: invalid configuration")

	// ErrAuthentication reports a TLS handshake that failed for want of
	// authentication rather than for a network fault: this side could not
	// verify the peer's certificate, the peer refused this side's (or its
	// absence) with a TLS alert, which under TLS 1.3 a dialer reads only
	// after its own handshake has completed, or, on a listener, the client
	// did not complete a TLS handshake it could accept. Retrying does not fix
	// it: [Transport.WaitConnected] returns it at once, a dialer logs it at
	// Error and keeps retrying with its backoff growing to the maximum, and
	// [Stats.AuthFailures] counts it.
	ErrAuthentication = errors.New("tcp: authentication failed")

	// ErrHandshake reports a peer refused during the handshake: it is not a
	// plexo peer, speaks another protocol version (see [ErrVersion]),
	// announces an unusable frame size, or is this Plexus itself.
	ErrHandshake = errors.New("tcp: handshake refused")

	// ErrVersion reports a peer speaking another protocol version. Errors
	// wrapping it wrap [ErrHandshake] too.
	ErrVersion = errors.New("tcp: protocol version mismatch")

	// ErrFrameTooLarge reports a frame longer than the maximum frame size
	// (see [WithMaxFrameSize]). See [FrameSizeError].
	ErrFrameTooLarge = errors.New("tcp: frame too large")

	// ErrProtocol reports bytes that break the protocol: an empty or
	// unknown frame, a malformed envelope or topic.
	ErrProtocol = errors.New("tcp: protocol error")

	// ErrHeartbeatTimeout reports a peer silent for longer than the
	// heartbeat timeout (see [WithHeartbeat]).
	ErrHeartbeatTimeout = errors.New("tcp: heartbeat timeout")

	// ErrPeerClosed reports that the peer closed the connection, with a
	// CLOSE frame or without. See [PeerClosedError].
	ErrPeerClosed = errors.New("tcp: peer closed the connection")
)

// A FrameSizeError reports a frame whose length field exceeds the limit.
// The frame's body is never read. It unwraps to [ErrFrameTooLarge].
type FrameSizeError struct {
	Size  int64 // the announced length (kind byte and body)
	Limit int   // the maximum frame size in force
}

// Error gives the announced size and the limit.
func (e *FrameSizeError) Error() string {
	return fmt.Sprintf("tcp: frame of %d bytes exceeds the maximum of %d", e.Size, e.Limit)
}

// Unwrap returns [ErrFrameTooLarge].
func (e *FrameSizeError) Unwrap() error { return ErrFrameTooLarge }

// A PeerClosedError reports the reason a peer gave in its CLOSE frame. It
// unwraps to [ErrPeerClosed].
type PeerClosedError struct {
	Reason string
}

// Error gives the peer's reason.
func (e *PeerClosedError) Error() string {
	return fmt.Sprintf("tcp: peer closed the connection: %s", e.Reason)
}

// Unwrap returns [ErrPeerClosed].
func (e *PeerClosedError) Unwrap() error { return ErrPeerClosed }

// errorf is [fmt.Errorf] with the package's "tcp: " prefix written once,
// however many of the package's errors the result wraps.
func errorf(format string, args ...any) error {
	return errprefix.Errorf("tcp: ", format, args...)
}
