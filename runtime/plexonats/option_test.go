package plexonats_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/plexonats"
)

// TestOptionBadValues passes every option that can take a bad value its bad
// values: New fails with the option's sentinel, naming the option, with the
// package's prefix once; the values that are documented to keep or clamp
// to a setting succeed.
func TestOptionBadValues(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL())
	for _, c := range []struct {
		name string
		opt  plexonats.Option
		is   error  // nil: New succeeds
		says string // in the error
	}{
		{"pending messages negative", plexonats.WithPendingLimits(-1, 0), plexonats.ErrConfig, "WithPendingLimits: "},
		{"pending bytes negative", plexonats.WithPendingLimits(0, -1), plexonats.ErrConfig, "WithPendingLimits: "},
		{"pending zero keeps defaults", plexonats.WithPendingLimits(0, 0), nil, ""},
		{"refresh negative", plexonats.WithInterestRefresh(-time.Second), plexonats.ErrConfig, "WithInterestRefresh: "},
		{"refresh too short", plexonats.WithInterestRefresh(time.Millisecond), plexonats.ErrConfig, "WithInterestRefresh: "},
		{"refresh zero keeps default", plexonats.WithInterestRefresh(0), nil, ""},
		{"refresh a day counts as an hour", plexonats.WithInterestRefresh(24 * time.Hour), nil, ""},
		{"prefix with wildcard", plexonats.WithSubjectPrefix("plexo.*."), plexonats.ErrInvalidSubject, "subject prefix"},
		{"prefix with space", plexonats.WithSubjectPrefix("a b."), plexonats.ErrInvalidSubject, "subject prefix"},
		{"prefix empty keeps default", plexonats.WithSubjectPrefix(""), nil, ""},
		{"queue group with space", plexonats.WithQueueGroup("a b"), plexonats.ErrInvalidQueueGroup, "queue group"},
		{"remote interest wildcard", plexonats.WithRemoteInterest("a.>"), plexonats.ErrInvalidSubject, "remote interest"},
		{"remote interest empty", plexonats.WithRemoteInterest(""), plexonats.ErrInvalidSubject, "remote interest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := plexonats.New(nc, c.opt)
			if c.is == nil {
				if err != nil {
					t.Fatalf("New = %v, want success", err)
				}
				tr.Close()
				return
			}
			if err == nil {
				tr.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("New = %v, want %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("New = %q, want it to say %q", err, c.says)
			}
			if n := strings.Count(err.Error(), "plexonats: "); n != 1 {
				t.Errorf("New = %q: the prefix appears %d times", err, n)
			}
		})
	}
}

// TestOptionLastCallWins checks that a later call of an option replaces an
// earlier bad value, and that a later bad value fails whatever came before.
func TestOptionLastCallWins(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL())
	tr, err := plexonats.New(nc, plexonats.WithInterestRefresh(-1), plexonats.WithInterestRefresh(time.Second))
	if err != nil {
		t.Fatalf("bad then good: New = %v", err)
	}
	tr.Close()
	tr, err = plexonats.New(nc, plexonats.WithPendingLimits(5, 5), plexonats.WithPendingLimits(-5, 5))
	if !errors.Is(err, plexonats.ErrConfig) {
		if err == nil {
			tr.Close()
		}
		t.Fatalf("good then bad: New = %v, want ErrConfig", err)
	}
}
