package faults_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A nodeSpec says how to start one cmd/faultnode process.
type nodeSpec struct {
	id     int
	listen string   // "127.0.0.1:0" first, then the address it got
	dial   []string // listeners' addresses
	sub    string   // "tick", "tock", "tick,tock" or ""
	every  time.Duration
	mcast  bool // attach a multicast transport (inside a network namespace only)
	// anyOrder skips the order check: the node has two paths from some
	// publishers, and one may overtake the other.
	anyOrder bool
}

// A streamKey names what one publisher incarnation sends on one topic.
type streamKey struct {
	tag  string // "tick" or "tock"
	node int
	inc  int
}

// A stream is what one subscriber incarnation received of one streamKey.
type stream struct {
	count uint64 // receipts
	last  uint64 // highest sequence received
	seen  map[uint64]bool
	mark  uint64 // last when markAll was called
	after uint64 // receipts above mark
}

// A node is one running (or ended) incarnation of cmd/faultnode. Its stdout
// is parsed as it arrives; every receipt is checked for duplicates, for
// order (sequences from one publisher incarnation must increase) and for the
// right type.
type node struct {
	spec nodeSpec
	inc  int
	addr string // the listen address, or "-"
	cmd  *exec.Cmd
	in   io.WriteCloser
	errb syncBuffer
	ctrl chan string   // answers to commands and the ready line
	done chan struct{} // closed once the process has exited and its output is read

	mu         sync.Mutex
	streams    map[streamKey]*stream
	violations []string
	nviol      int
	received   uint64
}

// startNode starts one incarnation of spec and waits for its ready line.
func startNode(t *testing.T, spec nodeSpec, inc int) *node {
	t.Helper()
	args := []string{"-id", strconv.Itoa(spec.id), "-inc", strconv.Itoa(inc), "-sub", spec.sub,
		"-every", spec.every.String(), "-life", "5m"}
	if spec.listen != "" {
		args = append(args, "-listen", spec.listen)
	}
	if len(spec.dial) > 0 {
		args = append(args, "-dial", strings.Join(spec.dial, ","))
	}
	if spec.mcast {
		args = append(args, "-multicast")
	}
	n := &node{spec: spec, inc: inc, ctrl: make(chan string, 16), done: make(chan struct{}), streams: map[streamKey]*stream{}}
	n.cmd = exec.Command(nodeBin, args...)
	n.cmd.Stderr = &n.errb
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if n.in, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go n.read(out)
	t.Cleanup(n.kill)
	select {
	case l := <-n.ctrl:
		a, ok := strings.CutPrefix(l, "ready ")
		if !ok {
			t.Fatalf("node %d: first line %q, want ready", spec.id, l)
		}
		n.addr = a
	case <-n.done:
		t.Fatalf("node %d exited before it was ready: %s", spec.id, n.errb.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("node %d not ready after 20 s: %s", spec.id, n.errb.String())
	}
	return n
}

// read parses n's stdout until it ends, then reaps the process.
func (n *node) read(out io.Reader) {
	defer close(n.done)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		if p, ok := strings.CutPrefix(l, "got "); ok {
			n.receipt(p)
			continue
		}
		n.ctrl <- l
	}
	_ = n.cmd.Wait()
}

// receipt checks one "got" line: "<tag> <node> <inc> <seq> <topic tag>".
func (n *node) receipt(p string) {
	f := strings.Fields(p)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.received++
	if len(f) != 5 {
		n.violate("malformed receipt %q", p)
		return
	}
	if f[0] != f[4] {
		n.violate("a %s message on the %s topic: %q", f[0], f[4], p)
		return
	}
	id, err1 := strconv.Atoi(f[1])
	inc, err2 := strconv.Atoi(f[2])
	seq, err3 := strconv.ParseUint(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		n.violate("malformed receipt %q", p)
		return
	}
	k := streamKey{f[0], id, inc}
	s := n.streams[k]
	if s == nil {
		s = &stream{seen: map[uint64]bool{}}
		n.streams[k] = s
	}
	switch {
	case s.seen[seq]:
		n.violate("duplicate %s %d.%d #%d", k.tag, id, inc, seq)
	case seq < s.last && !n.spec.anyOrder:
		n.violate("out of order %s %d.%d: #%d after #%d", k.tag, id, inc, seq, s.last)
	}
	s.seen[seq] = true
	s.count++
	if seq > s.mark {
		s.after++
	}
	s.last = max(s.last, seq)
}

func (n *node) violate(format string, args ...any) {
	n.nviol++
	if len(n.violations) < 10 {
		n.violations = append(n.violations, fmt.Sprintf("node %d.%d: ", n.spec.id, n.inc)+fmt.Sprintf(format, args...))
	}
}

// heard reports whether n received anything of k above its mark (see
// markAll), or at all when k has no mark.
func (n *node) heard(k streamKey) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.streams[k]
	return s != nil && s.after > 0
}

// lastOf returns the highest sequence n received of k.
func (n *node) lastOf(k streamKey) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.streams[k]; s != nil {
		return s.last
	}
	return 0
}

// markAll records, for every stream, the highest sequence received so far:
// afterMark then counts receipts above it.
func (n *node) markAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.streams {
		s.mark, s.after = s.last, 0
	}
}

// afterMark returns k's mark and the receipts above it.
func (n *node) afterMark(k streamKey) (mark, after uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.streams[k]; s != nil {
		return s.mark, s.after
	}
	return 0, 0
}

// report returns the violations seen and their count.
func (n *node) report() ([]string, int, uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.violations...), n.nviol, n.received
}

// command sends cmd and returns the answer line, which starts with want.
func (n *node) command(t *testing.T, cmd, want string) string {
	t.Helper()
	if _, err := io.WriteString(n.in, cmd+"\n"); err != nil {
		t.Fatalf("node %d: %s: %v", n.spec.id, cmd, err)
	}
	select {
	case l := <-n.ctrl:
		a, ok := strings.CutPrefix(l, want+" ")
		if !ok {
			t.Fatalf("node %d: %s answered %q", n.spec.id, cmd, l)
		}
		return a
	case <-n.done:
		t.Fatalf("node %d exited: %s", n.spec.id, n.errb.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("node %d: no answer to %s", n.spec.id, cmd)
	}
	return ""
}

// procStats is what a node reports of itself.
type procStats struct {
	goroutines int
	heap       uint64
	peers      int
}

func (n *node) stats(t *testing.T) procStats {
	t.Helper()
	var s procStats
	if _, err := fmt.Sscan(n.command(t, "stats", "stats"), &s.goroutines, &s.heap, &s.peers); err != nil {
		t.Fatalf("node %d: stats: %v", n.spec.id, err)
	}
	return s
}

// stop stops n's publishing and returns the last tick and tock sequences.
func (n *node) stop(t *testing.T) (tick, tock uint64) {
	t.Helper()
	if _, err := fmt.Sscan(n.command(t, "stop", "stopped"), &tick, &tock); err != nil {
		t.Fatalf("node %d: stop: %v", n.spec.id, err)
	}
	return tick, tock
}

// kill ends n with SIGKILL, if it still runs, and waits for it.
func (n *node) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// quit asks n to exit and waits, killing it after 10 s.
func (n *node) quit(t *testing.T) {
	t.Helper()
	_, _ = io.WriteString(n.in, "quit\n")
	select {
	case <-n.done:
		if !n.cmd.ProcessState.Success() {
			t.Errorf("node %d.%d exited with %v: %s", n.spec.id, n.inc, n.cmd.ProcessState, n.errb.String())
		}
	case <-time.After(10 * time.Second):
		n.kill()
		t.Errorf("node %d.%d did not quit within 10 s", n.spec.id, n.inc)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// eventually polls cond every 20 ms until it holds or d passes, and reports
// how long it took.
func eventually(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
