package plexo

import "sync"

// Received payloads that a subscription's goroutine decodes later are copied
// out of the transport's buffer, which it reuses once Deliver returns, into
// shared chunks rather than each into an allocation of its own: a chunk
// serves dozens of messages and is garbage once they are all decoded. The
// price is that a message held in a queue keeps its whole chunk alive;
// copying only payloads of at most maxChunkedPayload bytes into chunks of
// payloadChunkSize bounds that to 16 times the memory of what is queued.
const (
	payloadChunkSize  = 16 << 10
	maxChunkedPayload = payloadChunkSize / 16
)

// A payloadArena hands out copies of received payloads from shared chunks.
// Each link has one: the goroutines of one transport deliver through it.
type payloadArena struct {
	mu   sync.Mutex
	free []byte // the unused end of the current chunk
}

// copy returns a copy of b, at most maxChunkedPayload bytes, that nothing
// else writes to. The copy is never nil, so that a queued empty message is
// told apart from none.
func (a *payloadArena) copy(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	a.mu.Lock()
	if len(a.free) < len(b) {
		a.free = make([]byte, max(payloadChunkSize, len(b)))
	}
	n := copy(a.free, b)
	out := a.free[:n:n] // capped, so that appending cannot reach the next copy
	a.free = a.free[n:]
	a.mu.Unlock()
	return out
}
