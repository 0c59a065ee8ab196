package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestInProcessDemo(t *testing.T) {
	if err := inProcess(t.Context()); err != nil {
		t.Fatal(err)
	}
}
