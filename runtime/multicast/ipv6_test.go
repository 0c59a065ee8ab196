package multicast_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/netnstest"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// TestIPv6Veth carries typed messages over IPv6 multicast (ff15::/16)
// between two private namespaces joined by a veth pair: this test's and a
// second one, created by running an agent under unshare -n. Each side
// receives only the types it subscribed to, in both directions.
func TestIPv6Veth(t *testing.T) {
	if !netns(t) {
		return
	}
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("skipping: the kernel has no IPv6")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: util-linux unshare not found")
	}
	const here, there = netnstest.VethPrefix + "6a", netnstest.VethPrefix + "6b"
	peer := startAgentCmd(t, "ipv6 peer", []string{unshare, "-n"}, agentOptsEnv+"=ipv6,iface="+there)
	peer.do("ok", "exec ip link set lo up") // the agent runs in its namespace now
	ip(t, "link", "add", here, "type", "veth", "peer", "name", there, "netns", strconv.Itoa(peer.cmd.Process.Pid))
	// No duplicate address detection: link-local addresses are usable at once.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+here+"/accept_dad", []byte("0"), 0); err != nil {
		t.Skipf("skipping: cannot configure IPv6 on the veth: %v", err)
	}
	peer.do("ok", "write /proc/sys/net/ipv6/conf/%s/accept_dad 0", there)
	ip(t, "link", "set", here, "up")
	ip(t, "-6", "route", "add", "ff15::/16", "dev", here)
	peer.do("ok", "exec ip link set %s up", there)
	peer.do("ok", "exec ip -6 route add ff15::/16 dev %s", there)
	deadline := time.Now().Add(5 * time.Second)
	for !linkLocalReady(here) || !strings.Contains(peer.do("ok", "exec ip -6 -o addr show dev %s scope link -tentative", there), "fe80") {
		if time.Now().After(deadline) {
			t.Skip("skipping: the veth pair got no usable IPv6 link-local addresses")
		}
		time.Sleep(20 * time.Millisecond)
	}

	local := newNode(t, multicast.WithIPv6(), multicast.WithInterface(here))
	const n = 20
	t.Run("to the peer", func(t *testing.T) {
		peer.subscribe("string", stringTopic.Name())
		for i := range n {
			if err := stringTopic.Publish(context.Background(), local.p, wrapperspb.String(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
			if err := int64Topic.Publish(context.Background(), local.p, wrapperspb.Int64(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		got := peer.received(stringTopic.Name(), n, 5*time.Second)
		if len(got) != n {
			t.Fatalf("%d of %d strings crossed the veth (peer stats %+v)", len(got), n, peer.stats())
		}
		for i, d := range got {
			if d.value != strconv.Itoa(i) {
				t.Fatalf("message %d is %q", i, d.value)
			}
		}
		if stats := peer.stats(); stats.Datagrams != n || stats.Unwanted != 0 || len(peer.topicsReceived()) != 1 {
			t.Errorf("peer: %d datagrams, %d unwanted, topics %v; want %d, 0, strings only", stats.Datagrams, stats.Unwanted, peer.topicsReceived(), n)
		}
	})
	t.Run("from the peer", func(t *testing.T) {
		back := plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Back.proto")
		got := subscribe(t, local, back)
		peer.publish("int64", back.Name(), n)
		peer.publish("string", "test.v1.Other.proto", n)
		v := got.wait(n, 5*time.Second)
		if len(v) != n {
			t.Fatalf("%d of %d ints crossed the veth (local stats %+v)", len(v), n, local.m.Stats())
		}
		for i, x := range v {
			if x.Value != int64(i) {
				t.Fatalf("message %d is %d", i, x.Value)
			}
		}
		time.Sleep(50 * time.Millisecond)
		if stats := local.m.Stats(); stats.Datagrams != n || stats.Unwanted != 0 {
			t.Errorf("local: %d datagrams, %d unwanted; want %d, 0", stats.Datagrams, stats.Unwanted, n)
		}
	})
}

// ip runs ip(8) with args in this namespace.
func ip(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// linkLocalReady reports whether the interface has a usable fe80 address.
func linkLocalReady(name string) bool {
	out, err := exec.Command("ip", "-6", "-o", "addr", "show", "dev", name, "scope", "link", "-tentative").Output()
	return err == nil && strings.Contains(string(out), "fe80")
}
