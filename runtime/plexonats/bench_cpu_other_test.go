//go:build !unix

package plexonats_test

// processCPU returns -1: the process's CPU time is only read on Unix.
func processCPU() int64 { return -1 }
