// Package faults holds plexo's fault-injection suite: real processes on
// 127.0.0.1 killed and restarted, a fault proxy between TCP peers, hostile
// connections against a live listener, and (in the long profile) every fuzz
// target of the module for a fixed budget. RELIABILITY.md at the module root
// records the figures and the commands that produced them.
//
// The package's only non-test code is [Proxy]; the processes the tests run
// are the main package in cmd/faultnode, built by the tests with go build.
//
// The short profile runs in `go test ./...` within seconds per test; the long
// one runs with `go test ./internal/faults -faults.long -v`.
package faults
