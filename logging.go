package plexo

import (
	"fmt"
	"sync"
	"time"
)

// originString formats a Plexus ID as logs and tools show it: 16 hex digits.
func originString(id uint64) string { return fmt.Sprintf("%016x", id) }

// rateLimit lets through at most one event per second and counts the ones
// it holds back, for logs that a misbehaving peer could otherwise flood.
type rateLimit struct {
	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

// allow reports whether an event may be logged now and, if so, how many
// were held back since the last one that was.
func (l *rateLimit) allow() (suppressed uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < time.Second {
		l.suppressed++
		return 0, false
	}
	l.last, suppressed, l.suppressed = now, l.suppressed, 0
	return suppressed, true
}
