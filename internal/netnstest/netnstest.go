// Package netnstest runs a test inside a private network namespace that the
// test itself creates, the only place plexo's tests send multicast: it
// re-executes the test binary under `unshare -n` for that one test, sets up
// loopback multicast there (lo up, multicast on, a route for 224.0.0.0/4),
// and refuses to run unless the namespace is not the initial one and has no
// interface but loopback (and veth ends a test created, named with
// [VethPrefix]). The root module's packages and the nested modules' tests
// share it.
package netnstest

import (
	"context"
	"flag"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Env marks a test process running inside the private network namespace
// that its parent created. Processes it starts inherit it.
const Env = "PLEXO_NETNS"

// ParentEnv carries the parent's network namespace to the child, so that
// the child (and the programs it starts) can check they are elsewhere.
const ParentEnv = "PLEXO_NETNS_PARENT"

// VethPrefix starts the names of the veth interfaces that tests create
// between namespaces; [InPrivate] accepts them beside loopback.
const VethPrefix = "pxv"

// Inside reports whether this process is the child that [Enter] started.
func Inside() bool { return os.Getenv(Env) == "1" }

// InPrivate reports whether this process runs in a network namespace other
// than the initial one (PID 1's, when readable) and its parent's, and whose
// only interfaces are loopback and test veths. When in doubt it says no.
func InPrivate() bool {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || self == "" || self == os.Getenv(ParentEnv) || os.Getenv(ParentEnv) == "" {
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
		if ifi.Flags&net.FlagLoopback == 0 && !testVeth(ifi.Name) {
			return false // a real interface: never multicast here
		}
	}
	return true
}

// testVeth reports whether the interface is a veth end created by a test.
func testVeth(name string) bool {
	if !strings.HasPrefix(name, VethPrefix) {
		return false
	}
	out, err := exec.Command("ip", "-d", "-o", "link", "show", "dev", name).Output()
	return err == nil && strings.Contains(string(out), " veth ")
}

// Enter makes the calling test run inside a private network namespace. In
// the parent it re-executes the test binary under `unshare -n` for this
// test (or benchmark) alone, logs the child's output, fails if the child
// failed, and returns false: the caller returns. In the child it checks the
// namespace (refusing to run otherwise), sets up loopback multicast, and
// returns true: the caller goes on with the test. The child gets the
// parent's environment and the flags of the test binary that are not
// go test's own. It skips the test where namespaces cannot be created (not
// root, no unshare or ip).
func Enter(t testing.TB) bool {
	t.Helper()
	if Inside() {
		if !InPrivate() {
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
	deadline := time.Now().Add(10 * time.Minute)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if at, ok := d.Deadline(); ok {
			deadline = at
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	args := []string{"-n", os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1"}
	if _, ok := t.(*testing.B); ok {
		args = []string{"-n", os.Args[0], "-test.run", "^$", "-test.bench", "^" + t.Name() + "$", "-test.benchmem", "-test.count=1"}
		if f := flag.Lookup("test.benchtime"); f != nil {
			args = append(args, "-test.benchtime", f.Value.String())
		}
	}
	// The package's own flags, -test.short and -test.timeout go along.
	flag.VisitAll(func(f *flag.Flag) {
		own := !strings.HasPrefix(f.Name, "test.") || f.Name == "test.short" || f.Name == "test.timeout"
		if own && f.Value.String() != f.DefValue {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Skipf("skipping: cannot read this process's network namespace: %v", err)
	}
	cmd := exec.CommandContext(ctx, unshare, args...)
	cmd.Env = append(os.Environ(), Env+"=1", ParentEnv+"="+parent, NoExitSleep())
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

// NoExitSleep is the environment entry that spares a child test binary
// built with -race the race detector's one-second sleep at exit.
func NoExitSleep() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}
