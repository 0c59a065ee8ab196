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
// open for writing, as a reader without its summary does.
func unindexedCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mcap.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
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
	time.Sleep(2500 * time.Millisecond)
	a.cmd.Process.Kill() // a crash: no goodbye
	time.Sleep(1500 * time.Millisecond)
	if n := unindexedCount(t, file); n < 50 {
		t.Errorf("%d messages readable in the file while recording after 2.5s at 100/s", n)
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
	if n := len(recorded[readingTopic]); n < 150 {
		t.Fatalf("recorded %d readings in 2.5s at 100/s", n)
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
