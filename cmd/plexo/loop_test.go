package main_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// TestReplayLoop replays a recording over and over until SIGINT.
func TestReplayLoop(t *testing.T) {
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--notes", "5", "--interval", "10ms", "--wait-interest")
	file := filepath.Join(t.TempDir(), "loop.mcap")
	plexo(t, 30*time.Second, "record", "-o", file, noteTopic, "--duration", "2s", "--tcp-dial", a.addr).ok(t)
	recorded := readRecording(t, file)
	if n := len(recorded[noteTopic]); n != 5 {
		t.Fatalf("recorded %d of 5 notes", n)
	}

	b := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--sub-notes")
	cmd := exec.Command(plexoBin, "replay", file, "--loop", "--speed", "0", "--tcp-dial", b.addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	got := b.waitReceived(t, noteTopic, 15, 20*time.Second) // three passes at least
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("replay --loop after SIGINT: %v; stderr %s", err, stderr.String())
	}
	for i := range 15 {
		if want := recorded[noteTopic][i%5]; got[i] == "" || !sameNote(t, got[i], want) {
			t.Fatalf("message %d of the loop is %s, want %v", i, got[i], want)
		}
	}
}

func sameNote(t *testing.T, j string, want proto.Message) bool {
	t.Helper()
	var got plexotestv1.Note
	if err := protojson.Unmarshal([]byte(j), &got); err != nil {
		t.Fatal(err)
	}
	return proto.Equal(&got, want)
}
