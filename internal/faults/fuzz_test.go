package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fuzzModules are the modules whose fuzz targets the long profile runs,
// relative to the module root (tools/ holds no code of plexo's).
var fuzzModules = []string{".", "runtime/plexonats", "cmd/plexo", "benchmarks"}

// execsRE matches the progress lines of go test -fuzz.
var execsRE = regexp.MustCompile(`execs: (\d+)`)

// TestFuzzTargets runs, in the long profile, every fuzz target of every
// module for -faults.fuzztime each, one worker at a time, and reports the
// inputs tried. It finds the targets with `go test -list '^Fuzz'` in each
// package whose test files declare one. Minimizing a new interesting input
// is capped at one second (-fuzzminimizetime): go test does not count its
// runs as execs, and with its default of a minute the slower targets spent
// their whole budget minimizing.
func TestFuzzTargets(t *testing.T) {
	if !*long {
		t.Skip("long profile only (-faults.long)")
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	var total, targets int
	var failed []string
	for _, mod := range fuzzModules {
		dir := filepath.Join(root, mod)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			continue
		}
		for _, pkg := range fuzzPackages(t, dir) {
			list, err := goCmd(t, dir, time.Minute, "test", "-list", "^Fuzz", pkg)
			if err != nil {
				t.Errorf("%s: go test -list: %v\n%s", pkg, err, list)
				continue
			}
			for _, name := range strings.Fields(list) {
				if !strings.HasPrefix(name, "Fuzz") {
					continue
				}
				targets++
				res, err := goCmd(t, dir, *fuzzTime+3*time.Minute, "test", "-run", "^$", "-fuzz", "^"+name+"$",
					"-fuzztime", fuzzTime.String(), "-fuzzminimizetime", "1s", "-parallel", "1", pkg)
				execs := 0
				for _, m := range execsRE.FindAllStringSubmatch(res, -1) {
					execs = atoi(m[1])
				}
				total += execs
				verdict := "ok"
				if err != nil {
					verdict = "FAILED"
					failed = append(failed, pkg+"."+name)
					t.Errorf("%s %s: %v\n%s", pkg, name, err, res)
				}
				t.Logf("%-60s %-28s %10d inputs in %v: %s", pkg, name, execs, *fuzzTime, verdict)
			}
		}
	}
	t.Logf("fuzz targets: %d run for %v each, %d inputs tried in all, %d failed %v", targets, *fuzzTime, total, len(failed), failed)
	if targets == 0 {
		t.Error("no fuzz target found")
	}
}

// fuzzPackages lists the packages of the module in dir whose test files
// declare a func Fuzz.
func fuzzPackages(t *testing.T, dir string) []string {
	out, err := goCmd(t, dir, time.Minute, "list", "-f", `{{.ImportPath}}{{range .TestGoFiles}} {{$.Dir}}/{{.}}{{end}}{{range .XTestGoFiles}} {{$.Dir}}/{{.}}{{end}}`, "./...")
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", dir, err, out)
	}
	var pkgs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for _, file := range f[1:] {
			b, err := os.ReadFile(file)
			if err == nil && bytes.Contains(b, []byte("\nfunc Fuzz")) {
				pkgs = append(pkgs, f[0])
				break
			}
		}
	}
	return pkgs
}

// goCmd runs the go command in dir within d and returns its output.
func goCmd(t *testing.T, dir string, d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
