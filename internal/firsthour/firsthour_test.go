package firsthour

// TestFirstHour follows the README's "Generating code" section as a new user
// would, from an empty temporary directory with a new module and a schema of
// its own (a nested message, an enum, a Timestamp, an alias and a json codec),
// once with buf and once with protoc, then builds a publisher and a
// subscriber, runs them as two processes talking over TCP on 127.0.0.1, and
// checks what the subscriber receives.
//
// The commands come from the README itself, so that it cannot drift from the
// test. The README marks each block the test uses with an HTML comment on the
// line before the block's opening fence:
//
//	<!-- firsthour: clone -->                  sh: installs the plugins; run in this checkout
//	<!-- firsthour: module -->                 sh: makes the new module; run in the empty directory
//	<!-- firsthour: common -->                 sh: run next, for both paths
//	<!-- firsthour: buf file=buf.gen.yaml -->  written to buf.gen.yaml, for the buf path
//	<!-- firsthour: buf -->                    sh: the buf path
//	<!-- firsthour: protoc -->                 sh: the protoc path
//
// The sh blocks run under bash -euo pipefail with GOBIN and the front of
// PATH set to a temporary bin directory. plexo is not fetched from the module
// proxy: the module block makes the new module use this checkout through a
// replace directive, with PLEXO set to the checkout's root, and the clone
// block installs protoc-gen-plexo from it. buf is the one pinned in
// tools/go.mod, run through a shim named buf on PATH that calls
// `go tool -modfile=<checkout>/tools/go.mod buf`; protoc-gen-go is the version
// this checkout's go.mod requires. Other modules (protobuf) come from the
// module cache or the usual proxy. The protoc path is skipped where protoc is
// not installed (.ci/run installs it).

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A block is one marked block of the README.
type block struct {
	name string // the marker's name: clone, module, common, buf, protoc
	file string // the marker's file=, or ""
	text string // the block's content, its indentation removed
}

var markerRE = regexp.MustCompile(`^\s*<!-- firsthour: (\w+)(?: file=(\S+))? -->\s*$`)

// readmeBlocks returns the marked blocks of the README at path, in order.
func readmeBlocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []block
	for i := 0; i < len(lines); i++ {
		m := markerRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "```") {
			t.Fatalf("README line %d: marker %q is not followed by a fenced block", i+1, m[1])
		}
		indent := lines[i+1][:len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " "))]
		var body []string
		j := i + 2
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			body = append(body, strings.TrimPrefix(lines[j], indent))
		}
		if j == len(lines) {
			t.Fatalf("README line %d: the block of marker %q is not closed", i+1, m[1])
		}
		blocks = append(blocks, block{name: m[1], file: m[2], text: strings.Join(body, "\n") + "\n"})
		i = j
	}
	return blocks
}

// only returns the blocks named name, failing if there are none.
func only(t *testing.T, blocks []block, name string) []block {
	t.Helper()
	var out []block
	for _, b := range blocks {
		if b.name == name {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the README has no block marked %q", name)
	}
	return out
}

// env is the environment of the commands: this one's, without what would
// change how go behaves here, with bin first on PATH.
func env(repo, bin string) []string {
	var out []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GOFLAGS", "GOWORK", "GOBIN", "PLEXO", "PATH", "GOTOOLCHAIN":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GOBIN="+bin, "PLEXO="+repo,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// shell runs a shell block in dir.
func shell(ctx context.Context, environ []string, dir string, b block) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", b.text)
	cmd.Dir, cmd.Env = dir, environ
	return cmd.CombinedOutput()
}

// run runs a shell block in dir, failing the test if it fails.
func run(t *testing.T, ctx context.Context, environ []string, dir string, b block) {
	t.Helper()
	out, err := shell(ctx, environ, dir, b)
	if err != nil {
		t.Fatalf("README block %q failed in %s: %v\n--- block\n%s--- output\n%s", b.name, dir, err, b.text, out)
	}
	t.Logf("README block %q in %s:\n%s%s", b.name, dir, b.text, out)
}

// goCmd runs go with args in dir.
func goCmd(t *testing.T, ctx context.Context, environ []string, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, environ
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFirstHour(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("skipping: the README's commands need bash")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, filepath.Join(repo, "README.md"))

	// The tools, installed once for both paths.
	bin := filepath.Join(t.TempDir(), "bin")
	write(t, filepath.Join(bin, "buf"), fmt.Sprintf("#!/bin/sh\nexec go tool -modfile=%q buf \"$@\"\n", filepath.Join(repo, "tools", "go.mod")))
	if err := os.Chmod(filepath.Join(bin, "buf"), 0o755); err != nil {
		t.Fatal(err)
	}
	environ := env(repo, bin)
	for _, b := range only(t, blocks, "clone") {
		run(t, ctx, environ, repo, b)
	}

	modBlock := only(t, blocks, "module")
	m := regexp.MustCompile(`go mod init (\S+)`).FindStringSubmatch(modBlock[0].text)
	if m == nil {
		t.Fatal("the README's module block has no `go mod init`")
	}
	modPath := m[1]

	for _, path := range []string{"buf", "protoc"} {
		t.Run(path, func(t *testing.T) {
			if path == "protoc" {
				if _, err := exec.LookPath("protoc"); err != nil {
					t.Skip("skipping: protoc is not installed (Debian: apt-get install protobuf-compiler libprotobuf-dev)")
				}
			}
			dir := filepath.Join(t.TempDir(), "user")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, b := range modBlock {
				run(t, ctx, environ, dir, b)
			}
			write(t, filepath.Join(dir, "proto", "firsthour", "v1", "firsthour.proto"), schema(modPath))
			for _, b := range only(t, blocks, "common") {
				run(t, ctx, environ, dir, b)
			}
			var cmds []block
			for _, b := range only(t, blocks, path) {
				if b.file != "" {
					write(t, filepath.Join(dir, b.file), b.text)
				} else {
					cmds = append(cmds, b)
				}
			}

			// One topic name in two directories fails the run, as the
			// README promises: buf needs strategy: all for that.
			other := filepath.Join(dir, "proto", "other", "v1", "other.proto")
			write(t, other, collision(modPath))
			for _, b := range cmds {
				out, err := shell(ctx, environ, dir, b)
				if err == nil || !strings.Contains(string(out), `"firsthour.v1.Note.json"`) {
					t.Fatalf("README block %q with two messages of topic firsthour.v1.Note.json in two directories: %v, want a failure naming the topic\n%s", b.name, err, out)
				}
				break
			}
			if err := os.Remove(other); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(dir, "gen")); err != nil {
				t.Fatal(err)
			}

			for _, b := range cmds {
				run(t, ctx, environ, dir, b)
			}
			talk(t, ctx, environ, dir, modPath)
		})
	}
}

// schema is the new user's own schema.
func schema(modPath string) string {
	return `syntax = "proto3";

package firsthour.v1;

option go_package = "` + modPath + `/gen/firsthour/v1;firsthourv1";

import "google/protobuf/timestamp.proto";
import "plexo/v1/options.proto";

enum Mood {
  MOOD_UNSPECIFIED = 0;
  MOOD_CALM = 1;
  MOOD_EXCITED = 2;
}

// A Reading travels under the alias Sample.
message Reading {
  option (plexo.v1.alias) = "Sample";

  message Where {
    string room = 1;
  }

  Where where = 1;
  Mood mood = 2;
  google.protobuf.Timestamp at = 3;
  double value = 4;
}

// A Note travels as JSON.
message Note {
  option (plexo.v1.codec) = "json";
  string text = 1;
}
`
}

// collision is a second schema, in another directory, whose message has
// the topic name of schema's Note.
func collision(modPath string) string {
	return `syntax = "proto3";

package other.v1;

option go_package = "` + modPath + `/gen/other/v1;otherv1";
option (plexo.v1.namespace) = "firsthour.v1";

import "plexo/v1/options.proto";

message Note {
  option (plexo.v1.codec) = "json";
}
`
}

const subscriber = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"

	firsthourv1 "MODULE/gen/firsthour/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := plexo.New()
	defer p.Close()
	l, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := p.Attach(l); err != nil {
		return err
	}
	readings := make(chan *firsthourv1.Reading, 1)
	notes := make(chan *firsthourv1.Note, 1)
	if _, err := firsthourv1.SubscribeReading(ctx, p, func(_ context.Context, r *firsthourv1.Reading) { readings <- r }); err != nil {
		return err
	}
	if _, err := firsthourv1.SubscribeNote(ctx, p, func(_ context.Context, n *firsthourv1.Note) { notes <- n }); err != nil {
		return err
	}
	fmt.Println("listening", l.Addr())
	var r *firsthourv1.Reading
	var n *firsthourv1.Note
	for r == nil || n == nil {
		select {
		case r = <-readings:
		case n = <-notes:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Println("reading", firsthourv1.ReadingTopicName, r.GetWhere().GetRoom(), r.GetMood(), r.GetAt().AsTime().UTC().Format(time.RFC3339), r.GetValue())
	fmt.Println("note", firsthourv1.NoteTopicName, n.GetText())
	fmt.Println("nested", firsthourv1.Reading_WhereTopicName)
	return nil
}
`

const publisher = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"

	firsthourv1 "MODULE/gen/firsthour/v1"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "publisher:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := plexo.New()
	defer p.Close()
	d, err := tcp.Dial(ctx, addr)
	if err != nil {
		return err
	}
	if err := p.Attach(d); err != nil {
		return err
	}
	if err := d.WaitConnected(ctx); err != nil {
		return err
	}
	for _, topic := range []string{firsthourv1.ReadingTopicName, firsthourv1.NoteTopicName} {
		if err := p.WaitForInterest(ctx, topic); err != nil {
			return err
		}
	}
	r := &firsthourv1.Reading{
		Where: &firsthourv1.Reading_Where{Room: "cellar"},
		Mood:  firsthourv1.Mood_MOOD_EXCITED,
		At:    timestamppb.New(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)),
		Value: 19.5,
	}
	if err := firsthourv1.PublishReading(ctx, p, r); err != nil {
		return err
	}
	return firsthourv1.PublishNote(ctx, p, &firsthourv1.Note{Text: "hello from the first hour"})
}
`

// talk builds the publisher and the subscriber in the user's module at dir,
// runs them as two processes over TCP on 127.0.0.1, and checks what the
// subscriber received.
func talk(t *testing.T, ctx context.Context, environ []string, dir, modPath string) {
	t.Helper()
	write(t, filepath.Join(dir, "cmd", "sub", "main.go"), strings.ReplaceAll(subscriber, "MODULE", modPath))
	write(t, filepath.Join(dir, "cmd", "pub", "main.go"), strings.ReplaceAll(publisher, "MODULE", modPath))
	out := t.TempDir()
	goCmd(t, ctx, environ, dir, "build", "-o", out, "./cmd/sub", "./cmd/pub")

	sub := exec.CommandContext(ctx, filepath.Join(out, "sub"))
	sub.Stderr = os.Stderr
	stdout, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer sub.Wait()
	defer sub.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("the subscriber said nothing: %v", lines.Err())
	}
	addr, ok := strings.CutPrefix(lines.Text(), "listening ")
	if !ok {
		t.Fatalf("the subscriber said %q, want its address", lines.Text())
	}

	pub := exec.CommandContext(ctx, filepath.Join(out, "pub"), addr)
	if b, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("publisher: %v\n%s", err, b)
	}
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("subscriber: %v; it printed %q", err, got)
	}
	want := []string{
		"reading firsthour.v1.Sample.proto cellar MOOD_EXCITED 2026-12-06T03:00:00Z 19.5",
		"note firsthour.v1.Note.json hello from the first hour",
		"nested firsthour.v1.Reading.Where.proto",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the subscriber printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
