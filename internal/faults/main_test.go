package faults_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	long     = flag.Bool("faults.long", false, "run the long profile: more churn, longer runs, every fuzz target")
	seedFlag = flag.Uint64("faults.seed", 0, "seed of the random faults (0: from the clock, logged)")
	fuzzTime = flag.Duration("faults.fuzztime", 10*time.Second, "budget of each fuzz target in the long profile")
)

// nodeBinEnv gives a child test process the faultnode its parent built.
const nodeBinEnv = "PLEXO_FAULTS_NODE"

// nodeBin is the path of the built cmd/faultnode.
var nodeBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// run builds cmd/faultnode into a temporary directory (unless the parent
// of a test re-executed in a network namespace built it), runs the tests,
// checks that no goroutine outlives them (as goleak.VerifyTestMain does, but
// returning so that the directory is removed) and returns the exit code.
func run(m *testing.M) int {
	flag.Parse()
	if nodeBin = os.Getenv(nodeBinEnv); nodeBin == "" {
		dir, err := os.MkdirTemp("", "plexo-faults-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "faults:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		nodeBin = filepath.Join(dir, "faultnode")
		build := []string{"build", "-o", nodeBin}
		if raceEnabled { // the processes under test run with the detector too
			build = append(build, "-race")
		}
		out, err := exec.Command("go", append(build, "github.com/plexo-go/plexo/internal/faults/cmd/faultnode")...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "faults: building faultnode: %v\n%s", err, out)
			return 2
		}
		// A test re-executed in a network namespace finds it there.
		os.Setenv(nodeBinEnv, nodeBin)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: goroutines leaked:", err)
			return 1
		}
	}
	return code
}
