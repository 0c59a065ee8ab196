package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestBadInput checks that every kind of bad input ends with one clear line
// on stderr, a non-zero exit, and in time.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()

	t.Run("files", func(t *testing.T) {
		good := filepath.Join(dir, "good.mcap")
		// A recording of nothing but a pub of this very command is enough
		// to get a valid file; build it with the mcapio tests' writer
		// instead, through the command: record with no transport.
		plexo(t, 20*time.Second, "record", "-o", good, "--duration", "100ms").ok(t)
		data, err := os.ReadFile(good)
		if err != nil {
			t.Fatal(err)
		}
		corrupt := append([]byte(nil), data...)
		for i := 8; i < len(corrupt)-8; i += 3 {
			corrupt[i] ^= 0x5a
		}
		files := map[string][]byte{
			"empty.mcap":     {},
			"text.mcap":      []byte("this is not an MCAP file\n"),
			"truncated.mcap": data[:len(data)-20],
			"corrupt.mcap":   corrupt,
		}
		for name, b := range files {
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				plexo(t, 10*time.Second, "replay", path, "--wait", "0").failed(t, path)
			})
		}
		plexo(t, 10*time.Second, "replay", filepath.Join(dir, "missing.mcap")).failed(t, "missing.mcap")
		plexo(t, 10*time.Second, "replay", good).failed(t, good, "no channel")
	})

	t.Run("json", func(t *testing.T) {
		schema := []string{"--proto", "plexotest/v1/plexotest.proto", "-I", "internal/testpb/proto", "--wait", "0"}
		for name, c := range map[string]struct {
			json, want string
		}{
			"unknown field": {`{"sensor":"a","nope":1}`, `"nope"`},
			"type mismatch": {`{"seq":"many"}`, "seq"},
			"wrong kind":    {`{"place":3}`, "place"},
			"bad enum":      {`{"level":"LEVEL_LOUD"}`, "level"},
			"not JSON":      {`{sensor:`, "JSON"},
		} {
			t.Run(name, func(t *testing.T) {
				plexo(t, 10*time.Second, append([]string{"pub", readingTopic, c.json}, schema...)...).failed(t, c.want)
			})
		}
		// Valid JSON with the schema publishes (to nobody) and succeeds.
		plexo(t, 10*time.Second, append([]string{"pub", readingTopic, `{"sensor":"a","level":"LEVEL_HIGH"}`}, schema...)...).ok(t)
	})

	t.Run("unknown topic", func(t *testing.T) {
		a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1")
		r := plexo(t, 10*time.Second, "echo", "nope.v1.Missing.proto", "--timeout", "1s", "--tcp-dial", a.addr)
		r.failed(t, "nope.v1.Missing.proto")
		if r.took > 5*time.Second {
			t.Errorf("took %v with --timeout 1s", r.took)
		}
		plexo(t, 10*time.Second, "pub", "nope.v1.Missing.proto", "{}", "--connect-timeout", "1s", "--tcp-dial", a.addr).failed(t, "nope.v1.Missing.proto")
		plexo(t, 10*time.Second, "echo", "not a topic", "--tcp-dial", a.addr).failed(t, "not a topic")
		plexo(t, 10*time.Second, "replay", filepath.Join(dir, "good.mcap"), "nope.v1.Missing.proto").failed(t, "nope.v1.Missing.proto")
	})

	t.Run("no message in time", func(t *testing.T) {
		r := plexo(t, 10*time.Second, "echo", readingTopic, "--timeout", "1s", "--proto", "plexotest/v1/plexotest.proto", "-I", "internal/testpb/proto")
		r.failed(t, "0 message", "no transport")
	})

	t.Run("no transport", func(t *testing.T) {
		plexo(t, 10*time.Second, "topics").failed(t, "no transport", "--tcp-dial")
		plexo(t, 10*time.Second, "bridge").failed(t, "no transport")
		plexo(t, 10*time.Second, "echo", "nope.v1.Missing.proto", "--timeout", "1s").failed(t, "nope.v1.Missing.proto", "no transport")
		a := startPeer(t, "--tcp-listen", "127.0.0.1:0")
		r := plexo(t, 10*time.Second, "echo", "nope.v1.Missing.proto", "--timeout", "1s", "--tcp-dial", a.addr)
		if strings.Contains(r.stderr, "no transport") {
			t.Errorf("with a transport, the failure blames its absence: %q", r.stderr)
		}
	})

	t.Run("unreachable peer", func(t *testing.T) {
		r := plexo(t, 10*time.Second, "--connect-timeout", "1s", "topics", "--tcp-dial", "127.0.0.1:1")
		r.failed(t, "127.0.0.1:1")
		if r.took > 5*time.Second {
			t.Errorf("took %v with --connect-timeout 1s", r.took)
		}
	})

	t.Run("refusing nats", func(t *testing.T) {
		s := natsServer(t, &server.Options{Username: "u", Password: "secret"})
		r := plexo(t, 10*time.Second, "--connect-timeout", "2s", "echo", readingTopic, "--nats", s.ClientURL())
		r.failed(t, "nats", s.ClientURL())
		r = plexo(t, 10*time.Second, "--connect-timeout", "1s", "topics", "--nats", "nats://127.0.0.1:1")
		r.failed(t, "nats://127.0.0.1:1")
	})

	t.Run("usage", func(t *testing.T) {
		plexo(t, 10*time.Second, "echo").failed(t, "echo")
		plexo(t, 10*time.Second, "record").failed(t, "-o")
		plexo(t, 10*time.Second, "echo", readingTopic, "--format", "yaml").failed(t, "yaml")
		plexo(t, 10*time.Second, "frobnicate").failed(t, "frobnicate")
		plexo(t, 10*time.Second, "bridge").failed(t, "transport")
	})
}
