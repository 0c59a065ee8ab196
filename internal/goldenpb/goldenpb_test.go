package goldenpb_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo"
	basicv1 "github.com/plexo-go/plexo/internal/goldenpb/plexotest/basic/v1"
	optionsv1 "github.com/plexo-go/plexo/internal/goldenpb/plexotest/options/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// goldenDir holds the golden files that cmd/protoc-gen-plexo's test
// generates; their paths below it mirror the packages below this directory.
const goldenDir = "../../testdata/golden"

// TestPlexoFilesMatchGoldens checks that the _plexo.pb.go files that buf
// generated here are exactly the golden files, so that the compiled package
// and the goldens cannot drift apart.
func TestPlexoFilesMatchGoldens(t *testing.T) {
	compiled := walk(t, ".", "_plexo.pb.go")
	goldens := walk(t, goldenDir, "_plexo.pb.go.golden")
	if len(compiled) == 0 {
		t.Fatal("no _plexo.pb.go files found")
	}
	for rel, content := range compiled {
		want, ok := goldens[rel+".golden"]
		if !ok {
			t.Errorf("%s has no golden file; run go test ./cmd/protoc-gen-plexo -update", rel)
			continue
		}
		if !bytes.Equal(content, want) {
			t.Errorf("%s differs from testdata/golden/%s.golden; run GOWORK=off go tool -modfile=tools/go.mod buf generate", rel, rel)
		}
	}
	for rel := range goldens {
		if _, ok := compiled[strings.TrimSuffix(rel, ".golden")]; !ok {
			t.Errorf("testdata/golden/%s has no generated counterpart here; run GOWORK=off go tool -modfile=tools/go.mod buf generate", rel)
		}
	}
}

// walk returns the contents of the files below dir whose names end in
// suffix, by slash-separated path relative to dir.
func walk(t *testing.T, dir, suffix string) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, suffix) {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = content
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGoldenTopics publishes golden types through a Plexus and checks that
// the subscribers receive the published messages themselves, in order.
func TestGoldenTopics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := plexo.New()
	defer p.Close()

	if got, want := basicv1.ReadingTopic.Name(), "plexotest.basic.v1.Reading.proto"; got != want || basicv1.ReadingTopicName != want {
		t.Errorf("ReadingTopic.Name() = %q, ReadingTopicName = %q, want %q", got, basicv1.ReadingTopicName, want)
	}
	if got, want := optionsv1.VentCommandTopic.Name(), "acme.brewhouse.Vent.json"; got != want {
		t.Errorf("VentCommandTopic.Name() = %q, want %q", got, want)
	}

	readings := make(chan *basicv1.Reading, 2)
	sub, err := basicv1.SubscribeReading(ctx, p, func(_ context.Context, r *basicv1.Reading) { readings <- r })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	vents := make(chan *optionsv1.VentCommand, 1)
	if _, err := optionsv1.SubscribeVentCommand(ctx, p, func(_ context.Context, v *optionsv1.VentCommand) { vents <- v }); err != nil {
		t.Fatal(err)
	}

	first := &basicv1.Reading{Id: "mash-tun", Value: 66.5, At: timestamppb.Now()}
	second := &basicv1.Reading{Id: "mash-tun", Value: 67}
	vent := &optionsv1.VentCommand{Valve: "fermenter-2", Open: true}
	for _, r := range []*basicv1.Reading{first, second} {
		if err := basicv1.PublishReading(ctx, p, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := optionsv1.PublishVentCommand(ctx, p, vent); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*basicv1.Reading{first, second} {
		select {
		case got := <-readings:
			if got != want {
				t.Errorf("received %p (%v), want the published %p (%v)", got, got, want, want)
			}
		case <-ctx.Done():
			t.Fatal("no Reading delivered")
		}
	}
	select {
	case got := <-vents:
		if got != vent {
			t.Errorf("received %v, want the published pointer", got)
		}
	case <-ctx.Done():
		t.Fatal("no VentCommand delivered")
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := basicv1.PublishReading(ctx, p, first); err == nil {
		t.Error("PublishReading after Close returned nil")
	}
}
