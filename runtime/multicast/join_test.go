package multicast_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/multicast"
)

// failingJoins makes m's group joins fail while f runs, as they would with
// no file descriptor left. Setting the process's descriptor limit instead
// was flaky: a descriptor closed meanwhile elsewhere let a join through.
func failingJoins(m *multicast.Transport) (run func(f func())) {
	var failing atomic.Bool
	multicast.SetJoinHook(m, func() error {
		if failing.Load() {
			return syscall.EMFILE
		}
		return nil
	})
	return func(f func()) {
		failing.Store(true)
		defer failing.Store(false)
		f()
		joined(m)
	}
}

// joined waits until m's joiner has tried to open the group sockets that
// subscribed topics wait for (Advertise does not wait for them).
func joined(m *multicast.Transport) {
	waitFor(5*time.Second, func() bool { return !multicast.JoinsPending(m) })
}

// startFailingJoins is startHops with other options, and joins that fail
// inside the function it returns.
func startFailingJoins(t *testing.T, opts ...multicast.Option) (*multicast.Transport, func(f func())) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, append([]multicast.Option{multicast.WithInterface("lo")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	failing := failingJoins(m)
	if err := m.Start(newHopsHost(1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, failing
}

// TestJoinFailure checks what follows a subscription whose group cannot be
// joined (as with no file descriptor left): unsubscribing it must not take
// the socket from another topic on the same group, and the transport joins
// once it can.
func TestJoinFailure(t *testing.T) {
	if !netns(t) {
		return
	}
	t.Run("unsubscribe", func(t *testing.T) {
		low, high := collidingNames() // one home group
		// Heartbeats far apart: neither relocation nor a retry during the test.
		m, failing := startFailingJoins(t, multicast.WithHeartbeat(time.Minute))
		failing(func() { m.Advertise(low, 1) })
		if n := m.Stats().Groups; n != 0 {
			t.Fatalf("joined %d groups while joins fail", n)
		}
		m.Advertise(high, 1)
		joined(m)
		if n := m.Stats().Groups; n != 1 {
			t.Fatalf("joined %d groups for %s, want 1", n, high)
		}
		m.Advertise(low, 0)
		if n := m.Stats().Groups; n != 1 {
			t.Fatalf("%d groups joined after unsubscribing %s, whose join had failed; want 1, for %s", n, low, high)
		}
	})
	t.Run("retry", func(t *testing.T) {
		m, failing := startFailingJoins(t, multicast.WithHeartbeat(100*time.Millisecond))
		failing(func() { m.Advertise(stringTopic.Name(), 1) })
		if !waitFor(5*time.Second, func() bool { return m.Stats().Groups == 1 }) {
			t.Fatalf("groups joined: %d, want 1 once file descriptors are free again", m.Stats().Groups)
		}
	})
}

// TestAdvertiseDoesNotWaitForJoins makes joining a group hang, as a slow
// system call would, and checks that Advertise (which the Plexus calls
// under its lock) and the transport's other methods still return at once,
// that heartbeats go on, that peers hear of the subscription only once the
// join completes, and that the topic is joined then.
func TestAdvertiseDoesNotWaitForJoins(t *testing.T) {
	if !netns(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"), multicast.WithHeartbeat(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 16)
	release := make(chan struct{})
	multicast.SetJoinHook(m, func() error {
		entered <- struct{}{}
		<-release
		return nil
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(func() {
		free()
		m.Close()
	})
	if err := m.Start(newHopsHost(1)); err != nil {
		t.Fatal(err)
	}
	_, watch := startHops(t, 2)
	// Waiting for the join would take until release: far longer than
	// prompt, which is long enough that a loaded machine's stalls do not
	// look like that wait.
	const prompt = time.Second
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		m.Advertise(stringTopic.Name(), 1)
	}()
	select {
	case <-returned:
	case <-time.After(prompt):
		free() // let the Advertise goroutine end before goleak looks
		<-returned
		t.Fatalf("Advertise did not return within %v with a join hanging", prompt)
	}
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the joiner never tried to join")
	}
	// The join hangs now: nothing else may wait for it.
	start := time.Now()
	m.Advertise(int64Topic.Name(), 1)
	m.Advertise(stringTopic.Name(), 2)
	m.Advertise(int64Topic.Name(), 0)
	_ = m.Group(stringTopic.Name())
	st := m.Stats()
	if d := time.Since(start); d > prompt {
		t.Fatalf("Advertise, Group and Stats took %v with a join hanging, want under %v", d, prompt)
	}
	if st.Groups != 0 {
		t.Errorf("%d groups joined while the join hangs, want 0", st.Groups)
	}
	// Peers hear of the subscription only once its group is joined; the
	// heartbeats go on meanwhile (at least six in 300 ms, unless a loaded
	// machine stalls; the join hangs however long that takes).
	sent := m.Stats().ControlSent
	time.Sleep(300 * time.Millisecond)
	if !waitFor(5*time.Second, func() bool { return m.Stats().ControlSent-sent >= 3 }) {
		t.Errorf("%d control messages sent in 5 s while a join hangs, want HELLOs to go on", m.Stats().ControlSent-sent)
	}
	if h := watch.get(stringTopic.Name()); h != 0 {
		t.Errorf("a peer sees interest %d hops while the join hangs, want none", h)
	}
	free()
	watch.wait(t, stringTopic.Name(), 2, 5*time.Second)
	if !waitFor(5*time.Second, func() bool { return m.Stats().Groups == 1 && !multicast.JoinsPending(m) }) {
		t.Fatalf("groups joined: %d after the join completed, want 1", m.Stats().Groups)
	}
}
