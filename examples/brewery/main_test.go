package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		// The test binary runs as the demo's logger process.
		if err := loggerProcess(addr, "[logger process] "); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func TestInProcessDemo(t *testing.T) {
	if err := inProcess(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestTwoProcessDemo(t *testing.T) {
	if err := twoProcesses(t.Context()); err != nil {
		t.Fatal(err)
	}
}
