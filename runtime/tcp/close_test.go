package tcp_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo/runtime/tcp"
)

// TestCloseIsBoundedWhenAPeerKeepsSending checks that Close gives up on a
// peer that ignores the CLOSE frame and keeps writing: the grace a closing
// connection gives its peer must not be extended by each frame it reads.
func TestCloseIsBoundedWhenAPeerKeepsSending(t *testing.T) {
	a := newPlexus(t)
	l := listen(t, a)
	raw := dialRaw(t, l.Addr(), true)
	_ = raw.SetDeadline(time.Now().Add(time.Minute))
	eventually(t, "the listener registers the peer", func() bool { return len(l.Stats().Peers) == 1 })

	stop := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		ping := frame(0x04, nil)
		for range 6000 { // at most a minute
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := raw.Write(ping); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-wrote }()

	closeBounded(t, l, "while the peer kept sending")
}

// TestCloseIsBoundedWhenAPeerStopsReading checks that Close does not wait
// for the write deadline (the heartbeat timeout, a minute here) of a
// writer blocked on a peer that stopped reading: closing gives a peer about
// a second, whatever it is doing.
func TestCloseIsBoundedWhenAPeerStopsReading(t *testing.T) {
	a := newPlexus(t)
	l := listen(t, a, tcp.WithHeartbeat(time.Second, time.Minute))
	raw := dialRaw(t, l.Addr(), true)
	_ = raw.SetDeadline(time.Now().Add(2 * time.Minute))
	_ = raw.Conn.(*net.TCPConn).SetReadBuffer(4096)
	raw.write(t, frame(0x02, append([]byte{1}, stringTopic.Name()...)))
	waitForInterest(t, a, stringTopic.Name())

	// More than the socket buffers hold: the writer blocks, and the queue
	// overflows.
	pad := strings.Repeat("x", 4096)
	for i := 0; i < 100000 && l.Stats().Dropped == 0; i++ {
		if err := stringTopic.Publish(t.Context(), a, wrapperspb.String(pad)); err != nil {
			t.Fatal(err)
		}
	}
	if l.Stats().Dropped == 0 {
		t.Fatal("the queue never overflowed")
	}

	closeBounded(t, l, "while a writer was blocked on the peer")
}

// closeBounded closes l and fails the test if Close has not returned well
// after the one-second grace it gives peers, saying when.
func closeBounded(t *testing.T, l interface{ Close() error }, when string) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Close did not return %s", when)
	}
}
