package plexonats

import "errors"

// Sentinel errors that callers can test for with [errors.Is].
var (
	// ErrInvalidSubject reports a subject prefix or topic name that does not
	// make a valid NATS subject: one with whitespace or control characters,
	// '*' or '>', or an empty token (a leading, trailing or doubled '.').
	ErrInvalidSubject = errors.New("plexonats: invalid subject")

	// ErrInvalidQueueGroup reports a queue group name that NATS does not
	// accept, such as one with whitespace.
	ErrInvalidQueueGroup = errors.New("plexonats: invalid queue group")

	// ErrNilConn reports a nil *nats.Conn given to [New].
	ErrNilConn = errors.New("plexonats: nil connection")
)
