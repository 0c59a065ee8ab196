package agree

import (
	"crypto/sha256"
	"encoding/binary"
)

// A TopicID is the 64-bit identity of a topic: the first 8 bytes of the
// SHA-256 of its name, read big-endian (network order), so that every
// implementation in every language derives the same number.
type TopicID uint64

// IDOf returns the [TopicID] of a topic name.
func IDOf(name string) TopicID {
	sum := sha256.Sum256([]byte(name))
	return TopicID(binary.BigEndian.Uint64(sum[:8]))
}

// probeSeed returns the start of a topic's probe sequence: bytes 8..16 of
// the SHA-256 of its name, read big-endian.
func probeSeed(name string) uint64 {
	sum := sha256.Sum256([]byte(name))
	return binary.BigEndian.Uint64(sum[8:16])
}

// Home returns the home group of topic id in a range of size groups whose
// control group is control (an index in the range, or any value >= size when
// the control group lies outside the range): id mod size, moved to the next
// group when it lands on the control group.
func Home(id TopicID, size, control uint32) uint32 {
	g := uint32(uint64(id) % uint64(size))
	if g == control {
		g = (g + 1) % size
	}
	return g
}

// Probe returns the k-th candidate group of a topic's probe sequence:
// linear probing from [probeSeed], skipping the control group.
func Probe(seed uint64, k, size, control uint32) uint32 {
	g := uint32((seed%uint64(size) + uint64(k)) % uint64(size))
	if g == control {
		g = (g + 1) % size
	}
	return g
}
