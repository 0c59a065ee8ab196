package main_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/foxglove/mcap/go/mcap"
)

// unindexedCount counts the messages readable in a file that may still be
// open for writing, as a reader without its summary does. A file not yet
// written, or without its header yet, holds none.
func unindexedCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := mcap.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0
	}
	it, err := r.Messages(mcap.UsingIndex(false))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, _, err := it.NextInto(nil); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Logf("unindexed read ends: %v", err)
			}
			return n
		}
		n++
	}
}

// TestRecordSurvivesPeerCrash kills the publishing peer while recording:
// what was recorded is in the file while record runs on, and SIGINT then
// closes the file complete and indexed.
func TestRecordSurvivesPeerCrash(t *testing.T) {
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--interval", "10ms")
	file := filepath.Join(t.TempDir(), "crash.mcap")
	cmd := exec.Command(plexoBin, "record", "-o", file, "--tcp-dial", a.addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait for what a peer publishing at 100/s sends in about 2 s to be
	// readable, rather than sleeping that long: a loaded machine starts the
	// processes and publishes late. Chunks close at least every second.
	const want = 150
	deadline := time.Now().Add(60 * time.Second)
	for unindexedCount(t, file) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages readable in the file while recording after 60 s at 100/s, want %d", unindexedCount(t, file), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.cmd.Process.Kill() // a crash: no goodbye
	time.Sleep(1500 * time.Millisecond)
	readable := unindexedCount(t, file)
	if readable < want {
		t.Errorf("%d messages readable in the file while recording after the peer's crash, %d before", readable, want)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("record after SIGINT: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("record did not stop on SIGINT")
	}
	recorded := readRecording(t, file)
	if n := len(recorded[readingTopic]); n < readable {
		t.Fatalf("recorded %d readings, %d were readable while recording", n, readable)
	}
}

// TestRecordMaxBytes checks that record stops by itself at --max-bytes.
func TestRecordMaxBytes(t *testing.T) {
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--notes", "-1", "--interval", "1ms")
	file := filepath.Join(t.TempDir(), "max.mcap")
	const limit = 100_000
	r := plexo(t, 30*time.Second, "record", "-o", file, "--max-bytes", "100000", "--tcp-dial", a.addr, "--chunk-size", "16384").ok(t)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 3*limit {
		t.Errorf("file of %d bytes with --max-bytes %d", fi.Size(), limit)
	}
	recorded := readRecording(t, file)
	if len(recorded[readingTopic]) == 0 {
		t.Fatalf("nothing recorded; stderr %s", r.stderr)
	}
}
