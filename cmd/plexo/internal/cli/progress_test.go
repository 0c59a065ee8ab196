package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "recording x.mcap")
	p.live(10, 2048, -1) // not a terminal: no live line
	p.done("recorded 10 messages")
	if got := buf.String(); got != "plexo: recorded 10 messages\n" {
		t.Fatalf("without a terminal: %q", got)
	}

	buf.Reset()
	p = newProgress(&buf, "replaying x.mcap")
	p.tty = true
	p.live(10, 2048, 50)
	p.done("replayed 10 messages")
	got := buf.String()
	if !strings.HasPrefix(got, "\r\x1b[Kreplaying x.mcap: 10 msgs, 2.0 KiB, ") || !strings.Contains(got, ", 50%\r\x1b[Kplexo: replayed 10 messages\n") {
		t.Fatalf("on a terminal: %q", got)
	}

	if isTerminal(&buf) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(tty) {
			t.Error("/dev/tty is not a terminal")
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 * 1024: "1.5 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%v) = %q, want %q", n, got, want)
		}
	}
}
