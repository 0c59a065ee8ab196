//go:build race

package agree

// raceEnabled shortens the sweep under the race detector, which slows the
// simulator about tenfold; run without -race for the full 2,000 seeds.
const raceEnabled = true
