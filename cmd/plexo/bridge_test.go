package main_test

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// TestBridge forwards readings from a TCP peer to a NATS peer, and stops
// cleanly on SIGTERM.
func TestBridge(t *testing.T) {
	s := natsServer(t, nil)
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--interval", "10ms")
	b := startPeer(t, "--nats", s.ClientURL(), "--sub-readings")
	cmd := exec.Command(plexoBin, "bridge", "--tcp-dial", a.addr, "--nats", s.ClientURL())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for _, j := range b.waitReceived(t, readingTopic, 10, 20*time.Second) {
		var got plexotestv1.Reading
		if err := protojson.Unmarshal([]byte(j), &got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, testpb.Reading(got.GetSeq())) {
			t.Fatalf("bridged %v", &got)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bridge after SIGTERM: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bridge did not stop on SIGTERM")
	}
	if log := stderr.String(); !strings.Contains(log, "msg=bridging") || !strings.Contains(log, "msg=stopping") {
		t.Errorf("bridge log: %s", log)
	}
}
