package plexo

import (
	"bytes"
	"testing"
)

// Copies share chunks, so each must be capped: appending to one must not
// write into the next.
func TestPayloadCopiesAreIndependent(t *testing.T) {
	var a payloadArena
	src := []byte("first")
	first := a.copy(src)
	second := a.copy([]byte("second"))
	src[0] = 'X'
	_ = append(first, "!!!!!!"...)
	if string(first) != "first" || string(second) != "second" {
		t.Fatalf("copies are %q and %q, want first and second", first, second)
	}
	if c := a.copy(nil); c == nil || len(c) != 0 {
		t.Fatalf("an empty payload copies to %#v, want a non-nil empty slice", c)
	}
	// Many copies fill chunks and move on to new ones.
	for i := range 3 * payloadChunkSize / 100 {
		c := a.copy(bytes.Repeat([]byte{byte(i)}, 100))
		if len(c) != 100 || c[99] != byte(i) {
			t.Fatalf("copy %d is wrong", i)
		}
	}
}
