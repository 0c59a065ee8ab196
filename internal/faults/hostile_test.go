package faults_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexo-go/plexo/internal/plexotest"
)

// hostileHeapBound is the most heap the attacked process may hold (after a
// GC) while the hostile connections run: its own traffic needs about 1 MiB.
const hostileHeapBound = 64 << 20

func TestHostileInput(t *testing.T) {
	conns, workers, budget := 400, 16, 4*time.Second
	if raceEnabled {
		conns, budget = 150, 3*time.Second
	}
	if *long {
		conns, workers, budget = 20000, 32, 60*time.Second
	}
	rng := rand.New(rand.NewPCG(seed(t), 17))
	x := startNode(t, nodeSpec{id: 0, listen: "127.0.0.1:0", sub: "tock", every: 2 * time.Millisecond}, 0)
	y := startNode(t, nodeSpec{id: 1, dial: []string{x.addr}, sub: "tick", every: 2 * time.Millisecond}, 0)
	nodes := []*node{x, y}
	if _, ok := eventually(10*time.Second, func() bool { return converged(nodes) }); !ok {
		t.Fatal("x and y did not hear from each other within 10 s")
	}
	time.Sleep(200 * time.Millisecond)
	base := x.stats(t)
	x.markAll()
	y.markAll()

	// The attack: workers open connections to x, each sending one kind of
	// hostile input, until conns connections or the budget are spent.
	var opened, bytesSent atomic.Int64
	seeds := make(chan uint64, conns)
	for range conns {
		seeds <- rng.Uint64()
	}
	close(seeds)
	began := time.Now()
	deadline := began.Add(budget)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for s := range seeds {
				if time.Now().After(deadline) {
					return
				}
				opened.Add(1)
				bytesSent.Add(int64(hostileConn(x.addr, s)))
			}
		})
	}
	var peak procStats
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(200 * time.Millisecond):
		}
		s := x.stats(t)
		peak.heap = max(peak.heap, s.heap)
		peak.goroutines = max(peak.goroutines, s.goroutines)
	}

	took := time.Since(began)

	// The real peers lost nothing.
	lastTick, _ := x.stop(t)
	_, lastTock := y.stop(t)
	want := map[*node]streamKey{y: {"tick", 0, 0}, x: {"tock", 1, 0}}
	lastOf := map[*node]uint64{y: lastTick, x: lastTock}
	if _, ok := eventually(plexotest.Timeout, func() bool {
		return y.lastOf(want[y]) == lastTick && x.lastOf(want[x]) == lastTock
	}); !ok {
		t.Errorf("the real peers' last messages did not arrive within %v", plexotest.Timeout)
	}
	var lost uint64
	for _, n := range nodes {
		mark, after := n.afterMark(want[n])
		lost += lastOf[n] - mark - after
		if after != lastOf[n]-mark {
			t.Errorf("node %d got %d of the %d messages published during the attack", n.spec.id, after, lastOf[n]-mark)
		}
		v, nv, _ := n.report()
		for _, s := range v {
			t.Error(s)
		}
		if nv > len(v) {
			t.Errorf("and %d more", nv-len(v))
		}
	}
	var end procStats
	_, ok := eventually(plexotest.Timeout, func() bool { end = x.stats(t); return end.goroutines <= base.goroutines })
	t.Logf("hostile connections: %d opened, %d bytes sent, in %v (budget %v); real peers exchanged %d + %d messages meanwhile, lost %d; "+
		"attacked process: heap %d KiB before, peak %d KiB (bound %d MiB), %d KiB after; goroutines %d before, peak %d, %d after",
		opened.Load(), bytesSent.Load(), took.Round(10*time.Millisecond), budget, lastTick, lastTock, lost, base.heap>>10, peak.heap>>10, hostileHeapBound>>20,
		end.heap>>10, base.goroutines, peak.goroutines, end.goroutines)
	if peak.heap > hostileHeapBound {
		t.Errorf("the attacked process's heap peaked at %d MiB, above the bound of %d MiB", peak.heap>>20, hostileHeapBound>>20)
	}
	if !ok {
		t.Errorf("the attacked process kept %d goroutines, %d before the attack", end.goroutines, base.goroutines)
	}
	x.quit(t)
	y.quit(t)
}

// hostileConn opens one connection to addr and sends what the seed picks:
// bytes at random, or a valid hello followed by random frames, a flood of
// SUBSCRIBEs, or a frame announcing a large body that never comes. It
// returns the bytes written.
func hostileConn(addr string, seed uint64) int {
	rng := rand.New(rand.NewPCG(seed, 1))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Duration(50+rng.IntN(450)) * time.Millisecond))
	go drain(c)
	var b []byte
	mode := rng.IntN(4)
	if mode > 0 {
		b = hello(rng.Uint64())
	}
	switch mode {
	case 0: // noise
		b = randBytes(rng, 1+rng.IntN(4096))
	case 1: // random frames, of any kind and length
		for range 1 + rng.IntN(64) {
			body := randBytes(rng, rng.IntN(512))
			b = binary.BigEndian.AppendUint32(b, uint32(len(body)+1))
			b = append(b, byte(rng.IntN(8)))
			b = append(b, body...)
		}
	case 2: // SUBSCRIBE flood with random topics and distances
		for range 1 + rng.IntN(2000) {
			topic := randBytes(rng, 1+rng.IntN(64))
			b = binary.BigEndian.AppendUint32(b, uint32(len(topic)+2))
			b = append(b, 0x02, byte(rng.IntN(20)))
			b = append(b, topic...)
		}
	case 3: // a DATA frame announcing up to the 16 MiB limit, then little
		b = binary.BigEndian.AppendUint32(b, uint32(1+rng.IntN(16<<20)))
		b = append(b, 0x01)
		b = append(b, randBytes(rng, rng.IntN(1024))...)
	}
	n, _ := c.Write(b)
	if rng.IntN(2) == 0 {
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) // hold the connection open a while
	}
	return n
}

// drain reads and discards what the listener sends until the connection
// closes (the caller closes it or its deadline passes).
func drain(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// hello is a valid plexo TCP hello (PROTOCOL.md): magic, version 2, flags,
// peer id, max frame 1 MiB.
func hello(id uint64) []byte {
	b := []byte("PLXO")
	b = binary.BigEndian.AppendUint16(b, 2)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, id)
	return binary.BigEndian.AppendUint32(b, 1<<20)
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
