package faults_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/plexo-go/plexo/internal/plexotest"
)

// meshSpecs is the mesh of TestPeerDeathAndRestart: a tree of five
// processes, so that every pair has a single path and per-publisher order
// must hold. Node 0 and node 1 listen; 1 dials 0; 2 dials 0; 3 and 4 dial 1.
// Every node publishes both topics; subscriptions differ, so that nodes 0 and
// 1 also bridge topics they do not want. Bridged, node 2 is also on
// multicast, with a sixth node that is on multicast alone: still a tree.
//
// Cyclic, node 4 dials node 0 as well, closing the cycle 0–1–4: every
// Plexus must drop the copies that come round it, and order is no longer
// checked (one path may overtake the other).
func meshSpecs(every time.Duration, topo topology) []nodeSpec {
	bridged := topo == bridged
	specs := []nodeSpec{
		{id: 0, listen: "127.0.0.1:0", sub: "tick", every: every},
		{id: 1, listen: "127.0.0.1:0", sub: "tock", every: every},
		{id: 2, sub: "tick,tock", every: every, mcast: bridged},
		{id: 3, sub: "tick", every: every},
		{id: 4, sub: "tock", every: every},
	}
	if bridged {
		specs = append(specs, nodeSpec{id: 5, sub: "tick,tock", every: every, mcast: true})
	}
	if topo == cyclic {
		for i := range specs {
			specs[i].anyOrder = true
		}
	}
	return specs
}

// convergenceBound is how long after the churn stops every subscriber must
// hear from every publisher again: a dialer's backoff is at most 300 ms, and
// interest crosses at most three hops.
const convergenceBound = 10 * time.Second

func seed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -faults.seed=%d)", s, s)
	return s
}

// TestPeerDeathAndRestart kills (SIGKILL) and restarts the processes of a
// TCP mesh at random, then checks that interest converges within
// convergenceBound, that no subscriber ever got a duplicate, a message of
// the wrong type or one out of order, that nothing was lost once the mesh
// converged, and that the survivors' goroutines and heap return to their
// baseline.
func TestPeerDeathAndRestart(t *testing.T) {
	runMesh(t, tree)
}

// TestPeerDeathAndRestartCyclic is TestPeerDeathAndRestart over a mesh with
// a cycle of connections, where the order of a publisher's messages is not
// checked.
func TestPeerDeathAndRestartCyclic(t *testing.T) {
	runMesh(t, cyclic)
}

// A topology is one of the meshes of meshSpecs.
type topology int

const (
	tree    topology = iota // five processes over TCP, one path between any two
	cyclic                  // the tree with one more connection, closing a cycle
	bridged                 // the tree, with node 2 bridging to a sixth node on multicast
)

// TestPeerDeathAndRestartBridged is TestPeerDeathAndRestart with node 2
// bridging the mesh to multicast, inside a network namespace the test
// creates, where a sixth node is on multicast alone.
func TestPeerDeathAndRestartBridged(t *testing.T) {
	if !netns(t) {
		return
	}
	runMesh(t, bridged)
}

func runMesh(t *testing.T, topo topology) {
	kills := 6
	if raceEnabled {
		kills = 3
	}
	if *long {
		kills = 40
	}
	rng := rand.New(rand.NewPCG(seed(t), 13))
	specs := meshSpecs(2*time.Millisecond, topo)

	// Start in order: listeners first, and dialers with their addresses.
	nodes := make([]*node, len(specs))
	var all []*node // every incarnation, for the checks at the end
	start := func(i, inc int) {
		nodes[i] = startNode(t, specs[i], inc)
		all = append(all, nodes[i])
	}
	start(0, 0)
	specs[0].listen = nodes[0].addr
	specs[1].dial = []string{nodes[0].addr}
	start(1, 0)
	specs[1].listen = nodes[1].addr
	specs[2].dial = []string{nodes[0].addr}
	specs[3].dial = []string{nodes[1].addr}
	specs[4].dial = []string{nodes[1].addr}
	if topo == cyclic {
		specs[4].dial = append(specs[4].dial, nodes[0].addr)
	}
	for i := 2; i < len(specs); i++ {
		start(i, 0)
	}

	took, ok := eventually(convergenceBound, func() bool { return converged(nodes) })
	if !ok {
		t.Fatalf("the mesh did not converge within %v at start", convergenceBound)
	}
	t.Logf("converged at start in %v", took.Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond) // let the goroutines of the first connections settle
	baseline := make([]procStats, len(nodes))
	for i, n := range nodes {
		baseline[i] = n.stats(t)
	}
	first := append([]*node(nil), nodes...)

	// Churn: SIGKILL a random node, restart it after a random pause.
	// One node, drawn at random, is spared, so that at least one survivor
	// is compared with its baseline.
	witness := rng.IntN(len(nodes))
	killed := map[int]int{}
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		i := rng.IntN(len(nodes) - 1)
		if i >= witness {
			i++
		}
		nodes[i].kill()
		killed[i]++
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		start(i, nodes[i].inc+1)
	}
	t.Logf("churn: %d SIGKILLs and restarts, by node %v", kills, killed)
	// Converged means heard from since now: a receipt from before the
	// churn's end says nothing of the path today.
	for _, n := range nodes {
		n.markAll()
	}

	took, ok = eventually(convergenceBound, func() bool { return converged(nodes) })
	if !ok {
		t.Fatalf("the mesh did not converge within %v of the churn's end", convergenceBound)
	}
	t.Logf("converged %v after the churn stopped (bound %v)", took.Round(time.Millisecond), convergenceBound)

	// Nothing is lost once converged: mark every stream, stop the
	// publishers, and expect every sequence above the mark.
	for _, n := range nodes {
		n.markAll()
	}
	lastSeq := map[streamKey]uint64{}
	for _, n := range nodes {
		tick, tock := n.stop(t)
		lastSeq[streamKey{"tick", n.spec.id, n.inc}] = tick
		lastSeq[streamKey{"tock", n.spec.id, n.inc}] = tock
	}
	_, ok = eventually(plexotest.Timeout, func() bool {
		for _, s := range nodes {
			for k, last := range lastSeq {
				if wants(s.spec, k.tag) && s.lastOf(k) < last {
					return false
				}
			}
		}
		return true
	})
	if !ok {
		t.Errorf("the last messages did not all arrive within %v", plexotest.Timeout)
	}
	var lostAfter uint64
	for _, s := range nodes {
		for k, last := range lastSeq {
			if !wants(s.spec, k.tag) {
				continue
			}
			mark, after := s.afterMark(k)
			if last > mark && after != last-mark {
				lostAfter += last - mark - after
				t.Errorf("node %d.%d got %d of %s %d.%d #%d..#%d after convergence, want all %d",
					s.spec.id, s.inc, after, k.tag, k.node, k.inc, mark+1, last, last-mark)
			}
		}
	}

	// No duplicates, no wrong types, order per publisher, in any
	// incarnation.
	var receipts uint64
	for _, n := range all {
		v, nv, got := n.report()
		receipts += got
		for _, s := range v {
			t.Error(s)
		}
		if nv > len(v) {
			t.Errorf("node %d.%d: and %d more violations", n.spec.id, n.inc, nv-len(v))
		}
	}

	// The survivors' goroutines and memory return to their baseline.
	for i, n := range nodes {
		if n != first[i] {
			continue
		}
		var s procStats
		_, ok := eventually(plexotest.Timeout, func() bool {
			s = n.stats(t)
			return s.goroutines <= baseline[i].goroutines && s.heap <= baseline[i].heap+4<<20
		})
		t.Logf("survivor node %d: goroutines %d → %d, heap %d KiB → %d KiB, peers %d → %d",
			i, baseline[i].goroutines, s.goroutines, baseline[i].heap>>10, s.heap>>10, baseline[i].peers, s.peers)
		if !ok {
			t.Errorf("survivor node %d did not return to its baseline", i)
		}
	}
	t.Logf("faults survived: %d SIGKILLs; %d receipts checked over %d incarnations; lost after convergence: %d",
		kills, receipts, len(all), lostAfter)
	for _, n := range nodes {
		n.quit(t)
	}
}

// wants reports whether a node of spec subscribes to tag.
func wants(spec nodeSpec, tag string) bool {
	switch spec.sub {
	case tag, "tick,tock":
		return true
	}
	return false
}

// converged reports whether every running node has received, on each topic
// it wants, a message from every running node's current incarnation since
// the last markAll.
func converged(nodes []*node) bool {
	for _, s := range nodes {
		for _, p := range nodes {
			for _, tag := range []string{"tick", "tock"} {
				if wants(s.spec, tag) && !s.heard(streamKey{tag, p.spec.id, p.inc}) {
					return false
				}
			}
		}
	}
	return true
}
