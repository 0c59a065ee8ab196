package frame

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// Keys authenticates frames with HMAC-SHA256 truncated to [TagSize] bytes
// over header and body. A Keys value is not safe for concurrent use: give
// each goroutine its own with [Keys.Clone].
type Keys struct {
	send    uint8
	secrets map[uint8][]byte
	macs    [256]hash.Hash
	sum     [sha256.Size]byte
}

// NewKeys returns the key set secrets (key id → key), signing with key send.
func NewKeys(secrets map[uint8][]byte, send uint8) *Keys {
	k := &Keys{send: send, secrets: make(map[uint8][]byte, len(secrets))}
	for id, s := range secrets {
		k.secrets[id] = append([]byte(nil), s...)
		k.macs[id] = hmac.New(sha256.New, k.secrets[id])
	}
	return k
}

// Clone returns an independent copy of k.
func (k *Keys) Clone() *Keys { return NewKeys(k.secrets, k.send) }

// Has reports whether key id is known.
func (k *Keys) Has(id uint8) bool { return k.macs[id] != nil }

// SendID returns the id of the signing key.
func (k *Keys) SendID() uint8 { return k.send }

func (k *Keys) tag(id uint8, b []byte) []byte {
	m := k.macs[id]
	m.Reset()
	m.Write(b)
	return m.Sum(k.sum[:0])[:TagSize]
}

// sign appends the tag of f, made with the sending key.
func (k *Keys) sign(f []byte) []byte {
	return append(f, k.tag(k.send, f)...)
}

// Verify reports whether datagram b (header, body, tag) carries a valid tag
// of a known key.
func (k *Keys) Verify(b []byte, h *Header) bool {
	if h.Flags&FlagTagged == 0 || len(b) < HeaderSize+TagSize || !k.Has(h.KeyID) {
		return false
	}
	n := len(b) - TagSize
	return hmac.Equal(k.tag(h.KeyID, b[:n]), b[n:])
}
