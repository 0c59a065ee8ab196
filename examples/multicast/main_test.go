package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		// The test binary runs as the example in its namespace, or as a
		// subscriber there.
		os.Exit(run(os.Stdout))
	}
	goleak.VerifyTestMain(m)
}

// TestExample runs the example: as root, in a private namespace, where
// both subscribers must get their readings and nothing else; otherwise it
// must explain why it cannot, and succeed.
func TestExample(t *testing.T) {
	t.Setenv("GORACE", "atexit_sleep_ms=0") // children built with -race exit at once
	var out bytes.Buffer
	if code := run(&out); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out.String())
	}
	t.Logf("output:\n%s", out.String())
	if os.Geteuid() != 0 {
		if !strings.Contains(out.String(), "needs root") {
			t.Errorf("run as a user, the example does not say it needs root")
		}
		return
	}
	if strings.Contains(out.String(), "cannot create one here") {
		t.Skip("skipping: no network namespace here")
	}
	for _, want := range []string{
		"[temperature subscriber] fermenter-1/top: 18.5 °C",
		"[temperature subscriber] fermenter-1/top: 18.7 °C",
		"[gravity subscriber] fermenter-1/tilt: specific gravity 1.048",
		"[temperature subscriber] 3 datagrams reached its sockets, 0 of them of other types",
		"[gravity subscriber] 3 datagrams reached its sockets, 0 of them of other types",
		"Done",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
