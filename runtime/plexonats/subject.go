package plexonats

import (
	"fmt"
	"strings"
)

// checkSubject reports whether s is a valid NATS subject to publish on: a
// non-empty sequence of non-empty tokens separated by '.', without
// whitespace, control characters or the wildcards '*' and '>'.
func checkSubject(s string) error {
	if s == "" {
		return fmt.Errorf("empty subject: %w", ErrInvalidSubject)
	}
	prevDot := true // a leading '.' makes an empty first token
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if prevDot {
				return fmt.Errorf("%q has an empty token: %w", s, ErrInvalidSubject)
			}
			prevDot = true
			continue
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("%q has whitespace or a control character: %w", s, ErrInvalidSubject)
		case c == '*' || c == '>':
			return fmt.Errorf("%q has a wildcard character: %w", s, ErrInvalidSubject)
		}
		prevDot = false
	}
	if prevDot {
		return fmt.Errorf("%q ends with '.': %w", s, ErrInvalidSubject)
	}
	return nil
}

// checkPrefix reports whether prefix can start subjects: prefix followed by
// a valid topic name must be a valid subject.
func checkPrefix(prefix string) error {
	if strings.HasSuffix(prefix, ".") {
		return checkSubject(prefix + "x")
	}
	return checkSubject(prefix)
}

// checkQueueGroup reports whether name is a queue group NATS accepts.
func checkQueueGroup(name string) error {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%q has whitespace or a control character: %w", name, ErrInvalidQueueGroup)
		}
	}
	return nil
}

// interestSubject is the subject on which transports with the given subject
// prefix exchange interest.
func interestSubject(prefix string) string {
	return "_PLEXO.INTEREST." + strings.TrimSuffix(prefix, ".")
}
