//go:build race

package faults_test

// raceEnabled reports whether the race detector is on: the tests scale their
// load down under it.
const raceEnabled = true
