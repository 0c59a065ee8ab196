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
	tr.afterSubscribe = func() {
		nc.Close()
		// Give the subscription's goroutine time to end before the
		// transport watches for it (an assumption, not an assertion).
		time.Sleep(100 * time.Millisecond)
		close(hooked)
	}
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

// blockingHost blocks in SetInterest until released.
type blockingHost struct {
	nopHost
	release chan struct{}
}

func (h blockingHost) SetInterest(string, int) { <-h.release }

// Interest messages NATS drops because the exchange's subscription falls
// behind, a remove among them perhaps, are counted like data drops.
func TestInterestDropsAreCounted(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	nc, err := nats.Connect(s.ClientURL(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	peer, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	tr, err := New(nc)
	if err != nil {
		t.Fatal(err)
	}
	tr.interestPendingLimits = &[2]int{4, 1 << 20}
	h := blockingHost{release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(h.release)
		}
	}
	defer func() { release(); _ = tr.Close() }()
	if err := tr.Start(h); err != nil {
		t.Fatal(err)
	}
	subject := interestSubject(DefaultSubjectPrefix)
	// The transport subscribes to the exchange from its worker: announce
	// until one announcement blocks its host, then flood it.
	deadline := time.Now().Add(10 * time.Second)
	// (Stats would wait for the stuck exchange's count of peers.)
	dropped := func() uint64 { tr.pollDrops(); return tr.dropped.Load() }
	for i := uint64(1); dropped() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no interest message counted as dropped after 10 s of announcements to a stuck exchange")
		}
		m := newInterestMsg(subject, i, kindAdd, time.Second, []interestEntry{{"plexo.T", 1}})
		if err := peer.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		if i%16 == 0 {
			_ = peer.Flush()
			time.Sleep(time.Millisecond)
		}
	}
	release()
}
