//go:build race

package plexo_test

// raceEnabled reports whether the race detector is on: it makes sync.Pool
// drop what it holds at random, which changes allocation counts.
const raceEnabled = true
