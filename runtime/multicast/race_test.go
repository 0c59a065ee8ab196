//go:build race

package multicast

// RaceEnabled tells the tests that the race detector is on: it allocates
// on its own, so the allocation counts are not asserted under it.
const RaceEnabled = true
