//go:build !linux

package multicast_test

// multicastAllOff does nothing where IP_MULTICAST_ALL is missing: the
// benchmarks run on Linux only, in a network namespace.
func multicastAllOff(uintptr) error { return nil }
