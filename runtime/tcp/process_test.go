package tcp_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// childEnv, when set to a listener's address, makes the test binary run
// runChild instead of the tests.
const childEnv = "PLEXO_TCP_TEST_CHILD"

// runChild dials the parent, echoes every int64 it receives back as a
// string, and exits when it receives -1 or after 20 s.
func runChild() int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := plexo.New()
	defer p.Close()
	d, err := tcp.Dial(ctx, os.Getenv(childEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	if err := p.Attach(d); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	done := make(chan struct{})
	_, err = int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		if m.Value == -1 {
			close(done)
			return
		}
		if err := stringTopic.Publish(ctx, p, wrapperspb.String(fmt.Sprint("echo ", m.Value))); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	select {
	case <-done:
		return 0
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "child: timed out")
		return 3
	}
}

func startChild(t *testing.T, addr string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func TestTwoProcesses(t *testing.T) {
	for _, c := range []struct {
		name string
		kill bool
	}{{"round trip and exit", false}, {"child killed", true}} {
		t.Run(c.name, func(t *testing.T) {
			a := newPlexus(t)
			l := listen(t, a)
			echoes := newCollector[string]()
			if _, err := stringTopic.Subscribe(t.Context(), a, func(_ context.Context, m *wrapperspb.StringValue) { echoes.Add(m.Value) }); err != nil {
				t.Fatal(err)
			}
			cmd, out := startChild(t, l.Addr().String())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})

			waitForInterest(t, a, int64Topic.Name())
			publish(t, a, seq(0, 100)...)
			got := echoes.WaitFor(t, 100)
			for i, s := range got {
				if want := fmt.Sprint("echo ", i); s != want {
					t.Fatalf("echo %d is %q, want %q", i, s, want)
				}
			}
			if c.kill {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			} else {
				publish(t, a, -1)
			}
			select {
			case err := <-exited:
				if !c.kill && err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("child did not exit\n%s", out)
			}
			exited <- nil // for the cleanup
			eventually(t, "the child's interest is withdrawn", func() bool {
				return a.Stats().Topics[int64Topic.Name()].InterestedTransports == 0 && len(l.Stats().Peers) == 0
			})
			publish(t, a, 1000) // nobody wants it: goes nowhere, blocks nothing
		})
	}
}
