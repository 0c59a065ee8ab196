package tcp_test

import (
	"testing"
	"time"
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

	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second): // closeGrace is one second
		t.Fatal("Close did not return while the peer kept sending")
	}
}
