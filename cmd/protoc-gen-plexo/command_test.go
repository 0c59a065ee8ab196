package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexo-go/plexo"
)

func TestCommandVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := command([]string{"--version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
	if got, want := stdout.String(), "protoc-gen-plexo v"+plexo.Version+"\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
}

// TestCommandWriteOptions checks that --write-options writes the very
// options.proto of this checkout, where a schema imports it, over an old copy.
func TestCommandWriteOptions(t *testing.T) {
	want, err := os.ReadFile("../../schema/plexo/v1/options.proto")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "proto")
	path := filepath.Join(dir, "plexo", "v1", "options.proto")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("// an older copy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := command([]string{"--write-options", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wrote %d bytes that differ from schema/plexo/v1/options.proto", len(got))
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), path) {
		t.Fatalf("stdout %q, stderr %q: want nothing on stdout, the path on stderr", stdout.String(), stderr.String())
	}
}

func TestCommandErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--help"}, 2, "--write-options DIR"},
		{"write-options without a directory", []string{"--write-options"}, 2, "--write-options DIR"},
		{"version with an argument", []string{"--version", "x"}, 2, "--version"},
		{"write-options under a file", []string{"--write-options", file}, 1, "protoc-gen-plexo: mkdir " + file},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := command(c.args, &stdout, &stderr); code != c.code {
				t.Fatalf("exit code %d, want %d", code, c.code)
			}
			if stdout.Len() != 0 || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("stdout %q, stderr %q: want nothing on stdout, %q on stderr", stdout.String(), stderr.String(), c.want)
			}
		})
	}
}
