package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressInterval is how often the live line refreshes.
const progressInterval = 500 * time.Millisecond

// progress prints a live line on stderr when it is a terminal, and a final
// summary either way.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	start time.Time
	shown bool
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, tty: isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// live redraws the live line; percent < 0 leaves it out.
func (p *progress) live(msgs, bytes uint64, percent float64) {
	if !p.tty {
		return
	}
	elapsed := time.Since(p.start)
	rate := float64(msgs) / elapsed.Seconds()
	line := fmt.Sprintf("%s: %d msgs, %s, %.0f msg/s, %s", p.what, msgs, humanBytes(float64(bytes)), rate, elapsed.Round(time.Second))
	if percent >= 0 {
		line += fmt.Sprintf(", %.0f%%", percent)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// done clears the live line and prints the summary.
func (p *progress) done(summary string) {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "plexo: %s\n", summary)
}

// humanBytes formats a byte count or rate with a binary unit.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
