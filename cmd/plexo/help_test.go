package main_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexo-go/plexo/cmd/plexo/internal/cli"
)

var update = flag.Bool("update", false, "rewrite testdata/help/*.golden")

// TestHelp compares the --help text of every command with its golden file.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{}, {"topics"}, {"echo"}, {"pub"}, {"record"}, {"replay"}, {"bridge"}, {"ui"}, {"completion"},
	} {
		name := "plexo"
		if len(args) > 0 {
			name = strings.Join(args, "-")
		}
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := cli.Main(append(args, "--help"), cli.Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			golden := filepath.Join("testdata", "help", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHelp -update)", err)
			}
			if got := stdout.String(); got != string(want) {
				t.Errorf("plexo %s --help changed; run go test -run TestHelp -update if intended.\ngot:\n%s\nwant:\n%s", strings.Join(args, " "), got, want)
			}
		})
	}
}

// TestCompletion checks that cobra's completion scripts come out.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		var stdout, stderr bytes.Buffer
		if code := cli.Main([]string{"completion", shell}, cli.Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}); code != 0 || !strings.Contains(stdout.String(), "plexo") {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, stdout.Len(), stderr.String())
		}
	}
}
