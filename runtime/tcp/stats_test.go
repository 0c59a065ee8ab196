package tcp

import (
	"context"
	"errors"
	"testing"

	"github.com/plexo-go/plexo"
)

// TestDropsAfterUnregisterAreCounted checks that a message dropped by a
// Send that picked a peer from the table just before the peer left is
// still counted in the Transport's Stats, which Dropped promises to be
// exact.
func TestDropsAfterUnregisterAreCounted(t *testing.T) {
	tr, p := registeredPeer(t)
	p.stop(errors.New("test: connection ended"), false)
	tr.unregister(p)

	// A Send that loaded the table before unregister now reaches p.
	msg := plexo.Message{Topic: "a.B.proto", Payload: []byte{8, 1}, Origin: 1, Sequence: 1}
	if err := p.enqueue(context.Background(), &msg); err != nil {
		t.Fatal(err)
	}
	big := plexo.Message{Topic: "a.B.proto", Payload: make([]byte, 2<<20)}
	if err := p.enqueue(context.Background(), &big); !errors.Is(err, plexo.ErrMessageTooLarge) {
		t.Fatalf("enqueue of a too large message: %v", err)
	}
	if got := tr.Stats().Dropped; got != 2 {
		t.Fatalf("Stats().Dropped = %d, want 2", got)
	}
}
