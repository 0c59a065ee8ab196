package plexonats

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// A connection its owner closes while the transport is subscribing, just
// before the transport watches the subscription's end, must not make Close
// wait for ever for an end that nats.go has already reported to nobody.
func TestCloseAfterConnectionClosedWhileSubscribing(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tr, err := New(nc)
	if err != nil {
		t.Fatal(err)
	}
	hooked := make(chan struct{})
	afterSubscribe = func() {
		nc.Close()
		// Give the subscription's goroutine time to end before the
		// transport watches for it (an assumption, not an assertion).
		time.Sleep(100 * time.Millisecond)
		close(hooked)
	}
	defer func() { afterSubscribe = nil }()
	if err := tr.Start(nopHost{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hooked:
	case <-time.After(10 * time.Second):
		t.Fatal("the transport did not subscribe")
	}
	closed := make(chan struct{})
	go func() {
		_ = tr.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits 10 s after the connection was closed while subscribing")
	}
}
