// Package errprefix builds the errors of the transport packages, whose texts
// begin with the package's name ("tcp: ", "multicast: ") once, however many
// of the package's own errors they wrap.
//
// runtime/plexonats keeps a copy of its own: it is a module of its own, and
// importing this package would tie its versions to the root module's.
package errprefix

import (
	"fmt"
	"strings"
)

// Errorf is [fmt.Errorf] for errors that wrap errors of the package whose
// prefix is given, such as "tcp: ", and whose texts repeat it: it leaves the
// repetitions that follow a ": " out, so that the prefix appears once. The
// result unwraps like fmt.Errorf's.
func Errorf(prefix, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &prefixedError{text: oncePrefixed(err.Error(), prefix), err: err}
}

// oncePrefixed removes from s the copies of prefix that follow a ": ".
func oncePrefixed(s, prefix string) string {
	if rest, ok := strings.CutPrefix(s, prefix); ok {
		return prefix + strings.ReplaceAll(rest, ": "+prefix, ": ")
	}
	return s
}

// A prefixedError is the error of [Errorf].
type prefixedError struct {
	text string
	err  error
}

func (e *prefixedError) Error() string { return e.text }
func (e *prefixedError) Unwrap() error { return e.err }
