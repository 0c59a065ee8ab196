// Package release holds a test of the release layout that RELEASING.md
// describes; it has no code of its own.
//
// TestInstallFromTag checks that the modules of this repository can be
// released as RELEASING.md says: it makes a file-system GOPROXY holding the
// root, runtime/plexonats, contrib/plexoprom and cmd/plexo at a made-up tag,
// with the nested modules' requirements and go.sum moved to that tag as a
// release does, then, with an empty GOPATH and module cache, runs
//
//	go install github.com/plexo-go/plexo/cmd/plexo@<tag>
//	go get github.com/plexo-go/plexo/runtime/plexonats@<tag>   (in a new module, then go build)
//
// with GOWORK=off and no network: every other module comes from this
// machine's module cache (its cache/download directory is the second proxy),
// and GOSUMDB is off. The module zips follow the module zip rules (a
// module@version/ prefix, no files of nested modules, no vendor directories,
// size limits) and the h1: hashes are the dirhash Hash1 of the go command,
// both written here with the standard library.
package release

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tag is the made-up version the test releases every module at. It must not
// be the version the nested go.mod files require, so that the test proves
// the requirements and sums can be moved to a new tag.
const tag = "v0.99.0"

const rootPath = "github.com/plexo-go/plexo"

// released lists the modules a release tags, in tag order (RELEASING.md).
// benchmarks is a nested module too but is never released.
var released = []struct{ dir, path string }{
	{".", rootPath},
	{"runtime/plexonats", rootPath + "/runtime/plexonats"},
	{"contrib/plexoprom", rootPath + "/contrib/plexoprom"},
	{"cmd/plexo", rootPath + "/cmd/plexo"},
}

// Module zip limits, as in golang.org/x/mod/zip.
const (
	maxZipFile = 500 << 20
	maxGoMod   = 16 << 20
	maxLicense = 16 << 20
)

func TestInstallFromTag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/plexo from a file-system proxy; skipped under -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git command on PATH")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); err != nil {
		t.Skip("not a git checkout: the module files are the tracked ones")
	}
	hostCache := strings.TrimSpace(run(t, repo, os.Environ(), gobin, "env", "GOMODCACHE"))
	hostBuildCache := strings.TrimSpace(run(t, repo, os.Environ(), gobin, "env", "GOCACHE"))
	// The third-party modules come from this machine's module cache: make
	// sure what cmd/plexo needs is there (a no-op in CI, which downloads it).
	run(t, filepath.Join(repo, "cmd", "plexo"), os.Environ(), gobin, "mod", "download")

	tracked := strings.Split(strings.TrimRight(run(t, repo, os.Environ(), "git", "ls-files", "-z"), "\x00"), "\x00")
	var moduleDirs []string
	for _, f := range tracked {
		if path.Base(f) == "go.mod" && path.Dir(f) != "." {
			moduleDirs = append(moduleDirs, path.Dir(f))
		}
	}

	proxy := t.TempDir()
	sums := map[string]string{} // go.sum lines of the released modules, by module path
	for _, m := range released {
		files := moduleFiles(t, tracked, moduleDirs, m.dir)
		contents := map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(repo, m.dir, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			contents[f] = b
		}
		if m.dir != "." {
			// What a release does between tags: require the earlier modules
			// at the new tag, and add their sums.
			contents["go.mod"] = retag(t, contents["go.mod"])
			contents["go.sum"] = resum(contents["go.sum"], sums)
		}
		zipBytes := makeZip(t, m.path, files, contents)
		zipSum := hash1(m.path+"@"+tag+"/", files, contents)
		modSum := hash1("", []string{"go.mod"}, map[string][]byte{"go.mod": contents["go.mod"]})
		sums[m.path] = fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.path, tag, zipSum, m.path, tag, modSum)

		dir := filepath.Join(proxy, filepath.FromSlash(m.path), "@v")
		info, _ := json.Marshal(map[string]string{"Version": tag, "Time": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)})
		write(t, filepath.Join(dir, "list"), []byte(tag+"\n"))
		write(t, filepath.Join(dir, tag+".info"), info)
		write(t, filepath.Join(dir, tag+".mod"), contents["go.mod"])
		write(t, filepath.Join(dir, tag+".zip"), zipBytes)
	}

	gopath := t.TempDir()
	env := cleanEnv(
		"GOPATH="+gopath,
		"GOMODCACHE="+filepath.Join(gopath, "pkg", "mod"),
		"GOBIN="+filepath.Join(gopath, "bin"),
		"GOCACHE="+hostBuildCache,
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(hostCache, "cache", "download")),
		"GOSUMDB=off",
		"GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
		// -trimpath lets the build cache serve later runs, whose module
		// cache is another temporary directory.
		"GOFLAGS=-modcacherw -trimpath",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	work := t.TempDir()

	start := time.Now()
	run(t, work, env, gobin, "install", rootPath+"/cmd/plexo@"+tag)
	plexo := filepath.Join(gopath, "bin", "plexo")
	if out := run(t, work, env, plexo, "--help"); !strings.Contains(out, "plexo") {
		t.Errorf("plexo --help printed %q", out)
	}
	// The installed command names its tag and the library's.
	if out, want := run(t, work, env, plexo, "--version"), fmt.Sprintf("plexo %s (library %s %s,", tag, rootPath, tag); !strings.HasPrefix(out, want) {
		t.Errorf("plexo --version printed %q, want it to begin %q", out, want)
	}
	t.Logf("go install cmd/plexo@%s: %v", tag, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	consumer := filepath.Join(work, "consumer")
	write(t, filepath.Join(consumer, "go.mod"), []byte("module example.com/consumer\n\ngo 1.26.0\n"))
	write(t, filepath.Join(consumer, "main.go"), []byte(`package main

import (
	"fmt"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/plexonats"
)

var _ = plexonats.New

func main() { fmt.Println(plexo.Version) }
`))
	run(t, consumer, env, gobin, "get", rootPath+"/runtime/plexonats@"+tag)
	gomod, err := os.ReadFile(filepath.Join(consumer, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{rootPath + "/runtime/plexonats " + tag, rootPath + " " + tag} {
		if !strings.Contains(string(gomod), want) {
			t.Errorf("consumer's go.mod after go get lacks %q:\n%s", want, gomod)
		}
	}
	run(t, consumer, env, gobin, "build", "-o", filepath.Join(work, "consumer.bin"), ".")
	t.Logf("go get runtime/plexonats@%s and build: %v", tag, time.Since(start).Round(time.Millisecond))
}

// moduleFiles returns the tracked files of the module in dir, relative to it,
// following the module zip rules: no files of a nested module, none in a
// vendor directory, no VCS directories.
func moduleFiles(t *testing.T, tracked, moduleDirs []string, dir string) []string {
	t.Helper()
	var files []string
	for _, f := range tracked {
		rel := f
		if dir != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(f, dir+"/"); !ok {
				continue
			}
		}
		nested := slices.ContainsFunc(moduleDirs, func(md string) bool {
			return md != dir && (dir == "." || strings.HasPrefix(md, dir+"/")) && strings.HasPrefix(f, md+"/")
		})
		if nested {
			continue
		}
		elems := strings.Split(rel, "/")
		if slices.Contains(elems[:len(elems)-1], "vendor") || slices.ContainsFunc(elems, func(e string) bool {
			return e == ".git" || e == ".hg" || e == ".svn" || e == ".bzr"
		}) {
			continue
		}
		files = append(files, rel)
	}
	if !slices.Contains(files, "go.mod") {
		t.Fatalf("module %s: no go.mod among its files", dir)
	}
	slices.Sort(files)
	return files
}

// makeZip writes the module zip of modPath at tag, checking the size limits.
func makeZip(t *testing.T, modPath string, files []string, contents map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var total int64
	for _, f := range files {
		b := contents[f]
		total += int64(len(b))
		switch {
		case total > maxZipFile:
			t.Fatalf("module %s: more than %d bytes uncompressed", modPath, maxZipFile)
		case f == "go.mod" && len(b) > maxGoMod, f == "LICENSE" && len(b) > maxLicense:
			t.Fatalf("module %s: %s is too large", modPath, f)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: modPath + "@" + tag + "/" + f, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hash1 is the go command's dirhash Hash1: the SHA-256 of the lines
// "<hex sha256 of file>  <prefix+name>\n" for the files in sorted order,
// base64-encoded after "h1:".
func hash1(prefix string, files []string, contents map[string][]byte) string {
	names := slices.Clone(files)
	for i := range names {
		names[i] = prefix + names[i]
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%x  %s\n", sha256.Sum256(contents[strings.TrimPrefix(name, prefix)]), name)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// retag moves every requirement of a module of this repository to tag.
func retag(t *testing.T, gomod []byte) []byte {
	t.Helper()
	lines := strings.Split(string(gomod), "\n")
	moved := 0
	for i, line := range lines {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && (fields[0] == rootPath || strings.HasPrefix(fields[0], rootPath+"/")) {
			lines[i] = strings.Replace(line, fields[0]+" "+fields[1], fields[0]+" "+tag, 1)
			moved++
		}
		if strings.HasPrefix(strings.TrimSpace(line), "replace") {
			t.Errorf("go.mod has a replace directive, which consumers ignore: %q", line)
		}
	}
	if moved == 0 {
		t.Fatalf("go.mod requires no module of this repository:\n%s", gomod)
	}
	return []byte(strings.Join(lines, "\n"))
}

// resum drops go.sum lines of this repository's modules and adds the sums of
// the modules released so far.
func resum(gosum []byte, sums map[string]string) []byte {
	var out strings.Builder
	for line := range strings.Lines(string(gosum)) {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == rootPath || strings.HasPrefix(f[0], rootPath+"/")) {
			continue
		}
		out.WriteString(line)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range sums {
			if !yield(k) {
				return
			}
		}
	}) {
		out.WriteString(sums[k])
	}
	return []byte(out.String())
}

// cleanEnv returns the environment without the Go variables that could point
// the go command elsewhere, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GO") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, out, stderr.Bytes())
	}
	return string(out)
}

func write(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
