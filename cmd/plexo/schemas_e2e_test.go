package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// TestPrivateSchemas runs echo and pub against a peer that shares no
// descriptors: the topic's type is unknown without schema flags, and both
// --proto and --descriptor-set supply it.
func TestPrivateSchemas(t *testing.T) {
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--sub-notes", "--private")
	dial := []string{"--tcp-dial", a.addr}

	r := plexo(t, 20*time.Second, append([]string{"echo", readingTopic, "-n", "1", "--timeout", "2s"}, dial...)...)
	r.failed(t, readingTopic, "--proto")

	set, err := schemas.MarshalSetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	setFile := filepath.Join(t.TempDir(), "plexotest.binpb")
	if err := os.WriteFile(setFile, set, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, flags := range map[string][]string{
		"proto":          {"--proto", "plexotest/v1/plexotest.proto", "-I", "internal/testpb/proto"},
		"descriptor-set": {"--descriptor-set", setFile},
	} {
		t.Run(name, func(t *testing.T) {
			args := append(append([]string{"echo", readingTopic, "-n", "2", "--timeout", "10s"}, flags...), dial...)
			r := plexo(t, 20*time.Second, args...).ok(t)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines: %q", len(lines), r.stdout)
			}
			for _, l := range lines {
				var got plexotestv1.Reading
				if err := protojson.Unmarshal([]byte(l), &got); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(&got, testpb.Reading(got.GetSeq())) {
					t.Fatalf("echo printed %v", &got)
				}
			}
		})
	}

	args := append([]string{"pub", noteTopic, `{"text":"private","seq":"9"}`, "--descriptor-set", setFile, "--wait", "30s"}, dial...)
	plexo(t, 40*time.Second, args...).ok(t)
	got := a.waitReceived(t, noteTopic, 1, 10*time.Second)
	var note plexotestv1.Note
	if err := protojson.Unmarshal([]byte(got[0]), &note); err != nil || !proto.Equal(&note, &plexotestv1.Note{Text: "private", Seq: 9}) {
		t.Fatalf("the peer got %s (%v)", got[0], err)
	}
}
