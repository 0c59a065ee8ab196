package multicast_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestReassemblyBudget checks that the partial messages held by a
// transport are bounded over all the groups it joined, not per group:
// forged first fragments of large messages on several groups pin no more
// than the bound of one.
func TestReassemblyBudget(t *testing.T) {
	if !netns(t) {
		return
	}
	const groups, maxMessage = 4, 64 << 10
	n := newNode(t, multicast.WithMaxMessageSize(maxMessage))
	var names []string
	seen := make(map[string]bool)
	for i := 0; len(names) < groups && i < 1000; i++ {
		name := fmt.Sprintf("test.v1.Budget%d.proto", i)
		if g := n.m.Group(name); !seen[g] {
			seen[g] = true
			names = append(names, name)
			subscribe(t, n, plexo.NewTopic[*wrapperspb.BytesValue](name))
		}
	}
	if stats := n.m.Stats(); stats.Groups < groups {
		t.Fatalf("joined %d groups, want %d", stats.Groups, groups)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	limit := multicast.ReassemblyLimit(n.m)
	perGroup := limit / maxMessage // what one socket's own bound takes
	sent := 0
	for _, name := range names {
		for seq := range uint64(perGroup) {
			b, dst := multicast.ForgeFirstFragment(n.m, 4242, name, seq+1, maxMessage-200)
			if b == nil {
				t.Fatal("cannot forge a fragment")
			}
			if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	if !waitFor(5*time.Second, func() bool { return n.m.Stats().Datagrams >= uint64(sent) }) {
		t.Fatalf("received %d of %d datagrams", n.m.Stats().Datagrams, sent)
	}
	if !waitFor(5*time.Second, func() bool { return n.m.Stats().ReassemblyDrops >= uint64(sent-perGroup) }) {
		t.Errorf("reassembly drops: %d, want at least %d: %d groups held %d partial messages of %d bytes, the bound of one group",
			n.m.Stats().ReassemblyDrops, sent-perGroup, groups, sent, maxMessage)
	}
	if used := multicast.ReassemblyBytes(n.m); used > limit {
		t.Errorf("partial messages hold %d bytes, want at most %d", used, limit)
	}
}
