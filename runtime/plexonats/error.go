package plexonats

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers can test for with [errors.Is].
var (
	// ErrInvalidSubject reports a subject prefix or topic name that does not
	// make a valid NATS subject: one with whitespace or control characters,
	// '*' or '>', or an empty token (a leading, trailing or doubled '.').
	ErrInvalidSubject = errors.New("plexonats: invalid subject")

	// ErrInvalidQueueGroup reports a queue group name that NATS does not
	// accept, such as one with whitespace.
	ErrInvalidQueueGroup = errors.New("plexonats: invalid queue group")

	// ErrConfig reports an option given a value that cannot work, such as
	// a negative pending limit; the error names the option.
	ErrConfig = errors.New("plexonats: invalid configuration")

	// ErrNilConn reports a nil *nats.Conn given to [New].
	ErrNilConn = errors.New("plexonats: nil connection")
)

// errorf is [fmt.Errorf] for errors that wrap errors of this package, whose
// texts repeat the "plexonats: " prefix the new text begins with: it leaves the
// repetitions out, so that the prefix appears once. The result unwraps like
// fmt.Errorf's. runtime/internal/errprefix has the same for tcp and
// multicast; this module keeps its own copy, so that its versions are not
// tied to the root module's internals.
func errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &prefixedError{text: oncePrefixed(err.Error(), "plexonats: "), err: err}
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
