package main_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plexo-go/plexo/internal/netnstest"
)

// The binaries under test, built once per run by TestMain.
var (
	plexoBin string
	peerBin  string
)

func TestMain(m *testing.M) {
	if netnstest.Inside() && os.Getenv(binEnv) != "" {
		// Re-executed inside a network namespace: reuse the parent's build.
		plexoBin = filepath.Join(os.Getenv(binEnv), "plexo")
		peerBin = filepath.Join(os.Getenv(binEnv), "testpeer")
		goleak.VerifyTestMain(m)
		return
	}
	dir, err := os.MkdirTemp("", "plexo-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plexoBin = filepath.Join(dir, "plexo")
	peerBin = filepath.Join(dir, "testpeer")
	for bin, pkg := range map[string]string{plexoBin: ".", peerBin: "./internal/testpeer"} {
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	os.Setenv(binEnv, dir)
	if raceEnabled {
		// Race-built children skip the detector's one-second sleep at exit.
		os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	code := m.Run()
	if code == 0 {
		// goleak.VerifyTestMain would exit before the clean-up below.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// binEnv passes the directory of the built binaries to re-executed tests.
const binEnv = "PLEXO_CMD_TEST_BIN"

// result is how a run of the command ended.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// plexo runs the command with args, failing the test if it runs longer
// than limit.
func plexo(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, plexoBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("plexo %s: still running after %v; stderr: %s", strings.Join(args, " "), limit, r.stderr)
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("plexo %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok fails the test unless r is a success.
func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d; stderr: %s", r.code, r.stderr)
	}
	return r
}

// failed fails the test unless r is a failure with one "plexo: " line on
// stderr that contains every one of want.
func (r result) failed(t *testing.T, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit 0, want a failure; stdout: %s", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "plexo: ") {
		t.Fatalf("stderr is not one line starting with \"plexo: \": %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

// A peer is a running testpeer.
type peer struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string // its first --tcp-listen address

	mu     sync.Mutex
	lines  []string
	notify chan struct{}
	done   chan struct{}
	stderr bytes.Buffer
}

// startPeer runs testpeer with args and waits for it to be ready. The test
// stops it at its end.
func startPeer(t *testing.T, args ...string) *peer {
	t.Helper()
	p := &peer{t: t, cmd: exec.Command(peerBin, args...), notify: make(chan struct{}, 1), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin, err = p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(p.stop)
	p.waitLine(t, 10*time.Second, func(l string) bool { return l == "ready" })
	for _, l := range p.snapshot() {
		if a, ok := strings.CutPrefix(l, "listen "); ok && p.addr == "" {
			p.addr = a
		}
	}
	return p
}

func (p *peer) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd.Wait()
	if p.t.Failed() {
		p.t.Logf("testpeer %v stderr: %s", p.cmd.Args[1:], p.stderr.String())
	}
}

func (p *peer) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits for a line of output that match accepts.
func (p *peer) waitLine(t *testing.T, limit time.Duration, match func(string) bool) string {
	t.Helper()
	deadline := time.After(limit)
	for {
		for _, l := range p.snapshot() {
			if match(l) {
				return l
			}
		}
		select {
		case <-p.notify:
		case <-p.done:
			for _, l := range p.snapshot() {
				if match(l) {
					return l
				}
			}
			t.Fatalf("testpeer ended without the line; output %q; stderr %s", p.snapshot(), p.stderr.String())
		case <-deadline:
			t.Fatalf("no such line from testpeer within %v; output %q", limit, p.snapshot())
		}
	}
}

// received returns the JSON of the messages of topic the peer printed.
func (p *peer) received(topic string) []string {
	var out []string
	for _, l := range p.snapshot() {
		if j, ok := strings.CutPrefix(l, topic+" "); ok {
			out = append(out, j)
		}
	}
	return out
}

// waitReceived waits until the peer printed n messages of topic.
func (p *peer) waitReceived(t *testing.T, topic string, n int, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := p.received(topic)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("testpeer received %d of %d messages on %s within %v", len(got), n, topic, limit)
		}
		select {
		case <-p.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
