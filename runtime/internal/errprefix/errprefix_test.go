package errprefix_test

import (
	"errors"
	"io"
	"testing"

	"github.com/plexo-go/plexo/runtime/internal/errprefix"
)

func TestErrorfPrefixesOnce(t *testing.T) {
	errConfig := errors.New("tcp: invalid configuration")
	for _, c := range []struct {
		err  error
		want string
	}{
		{errprefix.Errorf("tcp: ", "tcp: listen: %w", errConfig), "tcp: listen: invalid configuration"},
		{errprefix.Errorf("tcp: ", "tcp: dial %s: %w", "127.0.0.1:1", errprefix.Errorf("tcp: ", "tcp: handshake: %w", io.EOF)), "tcp: dial 127.0.0.1:1: handshake: EOF"},
		// Another package's prefix stays.
		{errprefix.Errorf("tcp: ", "tcp: attach: %w", errors.New("multicast: closed")), "tcp: attach: multicast: closed"},
		// A text that does not begin with the prefix is left as it is.
		{errprefix.Errorf("tcp: ", "listen: %w", errConfig), "listen: tcp: invalid configuration"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	err := errprefix.Errorf("tcp: ", "tcp: listen: %w", errConfig)
	if !errors.Is(err, errConfig) {
		t.Errorf("%v does not unwrap to the error it wraps", err)
	}
}
