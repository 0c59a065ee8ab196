package tcp

import (
	"fmt"
	"strings"
	"testing"
)

// TestInterningIsBounded checks that the names a peer's reader keeps take
// bounded memory, however long the names a peer sends.
func TestInterningIsBounded(t *testing.T) {
	p := newPeer(newTransport(newConfig(nil)), nil, hello{peerID: 2, maxFrame: 1 << 20})
	long := strings.Repeat("x", 4<<10)
	for i := range 2 * maxInterned {
		name := fmt.Sprintf("%s.%d", long, i)
		if got := p.intern([]byte(name)); got != name {
			t.Fatalf("intern(%.10q…) = %.10q…", name, got)
		}
	}
	kept := 0
	for k := range p.topics {
		kept += len(k)
	}
	if limit := maxInterned * maxInternedLen; kept > limit {
		t.Fatalf("the reader keeps %d bytes of names, more than %d", kept, limit)
	}
	short := "a.B.proto"
	if p.intern([]byte(short)) != short {
		t.Fatal("a short name does not intern as itself")
	}
}
