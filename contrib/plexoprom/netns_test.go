package plexoprom_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// This is runtime/multicast's netns_test.go, trimmed: multicast tests run
// only inside a private network namespace that the test creates.

// netnsEnv marks a test process running inside the private network
// namespace that its parent created.
const netnsEnv = "PLEXO_MULTICAST_NETNS"

// netnsParentEnv carries the parent's network namespace to the child.
const netnsParentEnv = "PLEXO_MULTICAST_PARENT_NETNS"

// inPrivateNetns reports whether this process runs in a network namespace
// other than the initial one and its parent's, whose only interface is
// loopback. When in doubt it says no.
func inPrivateNetns() bool {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || self == "" || self == os.Getenv(netnsParentEnv) || os.Getenv(netnsParentEnv) == "" {
		return false
	}
	if initial, err := os.Readlink("/proc/1/ns/net"); err == nil && initial == self {
		return false
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback == 0 {
			return false // a real interface: never multicast here
		}
	}
	return true
}

// netns makes the calling test run inside a private network namespace. In
// the parent it re-executes the test binary under `unshare -n` for this test
// alone and reports the child's result, returning false; in the child it
// checks the namespace, sets up loopback multicast and returns true.
func netns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		if !inPrivateNetns() {
			t.Fatal("refusing to send multicast: this process is not in a private network namespace")
		}
		for _, args := range [][]string{
			{"link", "set", "lo", "up"},
			{"link", "set", "lo", "multicast", "on"},
			{"route", "add", "224.0.0.0/4", "dev", "lo"},
		} {
			out, err := exec.Command("ip", args...).CombinedOutput()
			if err != nil && !strings.Contains(string(out), "File exists") {
				t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating a network namespace needs root (CI runs these as root)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: util-linux unshare not found, cannot create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: iproute2 ip not found, cannot set up the namespace")
	}
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("skipping: cannot read this process's network namespace: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-n", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1", netnsParentEnv+"="+parent,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "unshare failed") {
		t.Skipf("skipping: cannot create a network namespace: %s", out)
	}
	t.Logf("in a private network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("test failed in the network namespace: %v", err)
	}
	return false
}
