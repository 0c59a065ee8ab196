package faults_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// netnsEnv marks a test process running inside the private network
// namespace that its parent created.
const netnsEnv = "PLEXO_FAULTS_NETNS"

// parentNetnsEnv carries the parent's network namespace to the child, and
// on to cmd/faultnode, which checks it too before it sends multicast.
const parentNetnsEnv = "PLEXO_FAULTS_PARENT_NETNS"

// nodeBinEnv gives a child test process the faultnode its parent built.
const nodeBinEnv = "PLEXO_FAULTS_NODE"

// inPrivateNetns reports whether this process runs in a network namespace
// other than the initial one (PID 1's, when readable) and its parent's, and
// whose only interface is loopback. When in doubt it says no.
func inPrivateNetns() bool {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || self == "" || self == os.Getenv(parentNetnsEnv) || os.Getenv(parentNetnsEnv) == "" {
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

// netns makes the calling test run inside a private network namespace, the
// only place these tests may send multicast (the pattern of
// runtime/multicast/netns_test.go). In the parent it re-executes the test
// binary under `unshare -n` for this test alone and reports the child's
// result, returning false; in the child it checks the namespace is not the
// initial one and has only loopback (refusing to run otherwise), sets up
// loopback multicast, and returns true. The processes the child starts
// inherit the namespace.
func netns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		if !inPrivateNetns() {
			t.Fatal("refusing to send multicast: this process is not in a private network namespace with only loopback")
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"-n", os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1",
		fmt.Sprintf("-faults.long=%v", *long), fmt.Sprintf("-faults.seed=%d", *seedFlag)}
	cmd := exec.CommandContext(ctx, unshare, args...)
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("skipping: cannot read this process's network namespace: %v", err)
	}
	cmd.Env = append(os.Environ(), netnsEnv+"=1", parentNetnsEnv+"="+parent, nodeBinEnv+"="+nodeBin, noExitSleep())
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

// noExitSleep is the environment entry that spares a child test binary
// built with -race the race detector's one-second sleep at exit.
func noExitSleep() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}
