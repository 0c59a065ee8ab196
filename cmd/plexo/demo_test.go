package main_test

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoWalkthrough follows the README's "The plexo command" tour on the
// demo: the brewery's sensors, which wait for a subscriber before they
// publish, are listed with their types and publishers, and echo (without
// the .proto files) starts them and prints their readings.
func TestDemoWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the brewery example")
	}
	bin := filepath.Join(t.TempDir(), "brewery")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/plexo-go/plexo/examples/brewery").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/brewery: %v\n%s", err, out)
	}
	sensors := exec.Command(bin, "-listen", "127.0.0.1:0")
	stdout, err := sensors.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sensors.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sensors.Process.Kill()
		_ = sensors.Wait()
	})
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "sensors: listening on "); ok {
				addrs <- addr
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(30 * time.Second):
		t.Fatal("the brewery's sensors did not say where they listen")
	}

	r := plexo(t, 30*time.Second, "--tcp-dial", addr, "topics").ok(t)
	for _, want := range []string{"brewery.sensors.v1.Temperature.proto", "brewery.sensors.v1.Gravity.proto"} {
		row := ""
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, want+" ") {
				row = line
			}
		}
		if f := strings.Fields(row); len(f) != 5 || f[1] != strings.TrimSuffix(want, ".proto") || f[3] != "1" {
			t.Errorf("topics lists %s as %q, want its type and 1 publisher:\n%s", want, row, r.stdout)
		}
	}

	r = plexo(t, 30*time.Second, "--tcp-dial", addr, "echo", "-n", "4", "--timeout", "20s",
		"brewery.sensors.v1.Temperature.proto", "brewery.sensors.v1.Gravity.proto").ok(t)
	if lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); len(lines) != 4 ||
		!strings.Contains(r.stdout, `"celsius"`) || !strings.Contains(r.stdout, `"specificGravity"`) {
		t.Errorf("echo -n 4 printed:\n%s", r.stdout)
	}
}
