package multicast_test

import (
	"testing"

	"github.com/plexo-go/plexo/internal/netnstest"
)

// netns makes the calling test run inside a private network namespace, the
// only place these tests may send multicast (see [netnstest.Enter]): it
// returns false in the parent, which then returns, and true in the child.
func netns(t testing.TB) bool { return netnstest.Enter(t) }
