package plexo

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
)

// goroutineID returns the ID of the calling goroutine, as its stack trace
// names it. It costs about a microsecond: Close uses it to tell whether a
// handler is closing its own subscription, never a hot path.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// inlineHandlerFrame is the function that calls an inline handler.
const inlineHandlerFrame = ".(*Subscription).inlineHandlerCall"

// calledFromInlineHandler reports whether an inline handler is on the
// calling goroutine's stack: then a Close must not wait for the call in
// progress, which is its own caller. Inline handlers run on goroutines
// that plexo does not own, so the stack is the one place that tells.
func calledFromInlineHandler() bool {
	var pcs [128]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs[:])])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, inlineHandlerFrame) && strings.HasPrefix(f.Function, "github.com/plexo-go/plexo.") {
			return true
		}
		if !more {
			return false
		}
	}
}
