package agree

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

var seeds = flag.Int("seeds", 2000, "seeds in the simulated-network sweep")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scenario builds a random run from a seed: 2-16 nodes, a small range so
// topics collide, loss, duplication, reordering and crash/restarts.
type scenario struct {
	cfg      simConfig
	topics   [][]string // per node
	crashes  int
	restarts bool
	// late holds topics given after a short split (shorter than failure
	// detection) cut nodes 1 and 3 off from the rest.
	late [][]string
}

func newScenario(seed uint64, rl *rules) scenario {
	r := rand.New(rand.NewPCG(seed, 42))
	sc := scenario{cfg: simConfig{
		nodes:   2 + r.IntN(15),
		size:    uint32(16 + r.IntN(48)),
		control: 0,
		seed:    seed,
		loss:    r.Float64() * 0.1,
		dup:     r.Float64() * 0.1,
		spread:  time.Duration(r.Int64N(int64(3 * time.Millisecond))),
		faulty:  time.Second,
		rules:   rl,
	}}
	pool := 2 + r.IntN(int(sc.cfg.size)/3)
	for range sc.cfg.nodes {
		var ts []string
		for range 1 + r.IntN(3) {
			ts = append(ts, fmt.Sprintf("brewery.v1.T%d-%d.proto", seed, r.IntN(pool)))
		}
		sc.topics = append(sc.topics, ts)
	}
	if r.IntN(4) == 0 {
		sc.crashes = 1 + r.IntN(2)
		sc.restarts = r.IntN(2) == 0
	}
	return sc
}

// contention builds a run where two proposers race for one group: three
// topics share a home group and the two that must move probe the same
// group first; two more nodes only vote.
func contention(seed uint64, rl *rules) scenario {
	const size = 16
	names := contendingNames(size)
	r := rand.New(rand.NewPCG(seed, 43))
	sc := scenario{cfg: simConfig{
		nodes:   3 + r.IntN(4),
		size:    size,
		control: size,
		seed:    seed,
		loss:    r.Float64() * 0.05,
		dup:     r.Float64() * 0.1,
		spread:  time.Duration(r.Int64N(int64(4 * time.Millisecond))),
		faulty:  time.Second,
		rules:   rl,
	}}
	sc.topics = make([][]string, sc.cfg.nodes)
	for i, name := range names {
		sc.topics[i] = []string{name}
	}
	return sc
}

// splitContention is [contention] on five nodes where the two proposers
// start during a split shorter than failure detection: nodes 1 and 3 are a
// minority that must not choose anything.
func splitContention(seed uint64, rl *rules) scenario {
	sc := contention(seed, rl)
	sc.cfg.nodes = 5
	sc.cfg.loss = 0
	sc.topics = make([][]string, 5)
	sc.topics[0] = []string{contendingNames(sc.cfg.size)[0]}
	sc.late = make([][]string, 5)
	sc.late[1] = []string{contendingNames(sc.cfg.size)[1]}
	sc.late[2] = []string{contendingNames(sc.cfg.size)[2]}
	return sc
}

// contendingNames returns three topic names with one home group, the two
// larger ids sharing their first probe.
func contendingNames(size uint32) []string {
	byHome := make(map[[2]uint32][]string)
	for i := 0; ; i++ {
		name := fmt.Sprintf("x.v1.T%d.proto", i)
		id := IDOf(name)
		k := [2]uint32{Home(id, size, size), Probe(probeSeed(name), 0, size, size)}
		byHome[k] = append(byHome[k], name)
		for h, ns := range byHome {
			if len(ns) < 2 || h[0] == h[1] {
				continue
			}
			for j := 0; j < i; j++ {
				a := fmt.Sprintf("x.v1.T%d.proto", j)
				if Home(IDOf(a), size, size) == h[0] && IDOf(a) < IDOf(ns[0]) && IDOf(a) < IDOf(ns[1]) {
					return []string{a, ns[0], ns[1]}
				}
			}
		}
	}
}

type outcome struct {
	violations []string
	converged  bool
	why        string
	at         time.Duration
	trace      []byte // with simConfig.trace
}

func (o outcome) failed() bool { return len(o.violations) > 0 || !o.converged }

func (sc scenario) run() outcome {
	s := newSim(sc.cfg)
	for i, ts := range sc.topics {
		for _, t := range ts {
			s.interest(i, t, true)
		}
	}
	if sc.late != nil {
		hb := s.cfg.hb
		s.run(hb * 23 / 10)
		s.shortSplit(func(i int) int {
			if i == 1 || i == 3 {
				return 1
			}
			return 0
		})
		for i, ts := range sc.late {
			for _, t := range ts {
				s.interest(i, t, true)
			}
		}
		s.run(s.now + 2*hb)
		s.heal()
	}
	r := rand.New(rand.NewPCG(sc.cfg.seed, 7))
	for c := 0; c < sc.crashes && c < sc.cfg.nodes-1; c++ {
		s.run(time.Duration(r.Int64N(int64(sc.cfg.faulty / 2))))
		victim := r.IntN(sc.cfg.nodes)
		s.crash(victim)
		if sc.restarts {
			s.run(s.now + time.Duration(r.Int64N(int64(sc.cfg.faulty/2))))
			s.start(victim, s.now)
		}
	}
	s.run(sc.cfg.faulty)
	at, ok, why := s.runUntilConverged(20 * time.Second)
	s.checkTables()
	o := outcome{violations: s.violations, converged: ok, why: why, at: at}
	if s.trace != nil {
		o.trace = s.trace.Bytes()
	}
	return o
}

// TestSweep runs the protocol over many seeded faulty networks and checks
// safety (a chosen value never changes) and liveness (every table converges,
// relocations finish, no two active topics share a group).
func TestSweep(t *testing.T) {
	n := *seeds
	if testing.Short() || raceEnabled {
		n = min(n, 250)
	}
	for seed := range uint64(n) {
		sc := newScenario(seed, nil)
		switch seed % 8 {
		case 3:
			sc = contention(seed, nil)
		case 5:
			sc = splitContention(seed, nil)
		}
		o := sc.run()
		if len(o.violations) > 0 {
			t.Fatalf("seed %d (%d nodes): safety: %v", seed, sc.cfg.nodes, o.violations)
		}
		if !o.converged {
			t.Fatalf("seed %d (%d nodes): no convergence: %s", seed, sc.cfg.nodes, o.why)
		}
	}
}

// TestRapid checks the same properties over rapid-drawn networks.
func TestRapid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nodes := rapid.IntRange(2, 16).Draw(rt, "nodes")
		size := rapid.Uint32Range(8, 128).Draw(rt, "size")
		sc := scenario{cfg: simConfig{
			nodes:  nodes,
			size:   size,
			seed:   rapid.Uint64().Draw(rt, "seed"),
			loss:   rapid.Float64Range(0, 0.2).Draw(rt, "loss"),
			dup:    rapid.Float64Range(0, 0.2).Draw(rt, "dup"),
			spread: time.Duration(rapid.Int64Range(0, int64(5*time.Millisecond)).Draw(rt, "spread")),
			faulty: time.Second,
		}}
		pool := rapid.IntRange(1, int(size)/2).Draw(rt, "pool")
		for i := range nodes {
			k := rapid.IntRange(0, 3).Draw(rt, fmt.Sprintf("topics%d", i))
			var ts []string
			for j := range k {
				ts = append(ts, fmt.Sprintf("t%d", rapid.IntRange(0, pool-1).Draw(rt, fmt.Sprintf("t%d.%d", i, j))))
			}
			sc.topics = append(sc.topics, ts)
		}
		sc.crashes = rapid.IntRange(0, 2).Draw(rt, "crashes")
		sc.restarts = rapid.Bool().Draw(rt, "restarts")
		o := sc.run()
		if len(o.violations) > 0 {
			rt.Fatalf("safety: %v", o.violations)
		}
		if !o.converged {
			rt.Fatalf("no convergence: %s", o.why)
		}
	})
}

// collidingNames returns n topic names that share one home group.
func collidingNames(n int, size, control uint32) []string {
	var names []string
	want := uint32(1<<32 - 1)
	for i := 0; len(names) < n; i++ {
		name := fmt.Sprintf("c.v1.T%d.proto", i)
		h := Home(IDOf(name), size, control)
		if want == 1<<32-1 {
			want = h
		}
		if h == want {
			names = append(names, name)
		}
	}
	return names
}

func TestRelocation(t *testing.T) {
	for _, n := range []int{2, 4, 8, 16} {
		t.Run(fmt.Sprintf("%d proposers", n), func(t *testing.T) {
			r := relocate(n, 0, uint64(n))
			if !r.ok {
				t.Fatalf("no convergence: %s", r.why)
			}
			if r.moved != n-1 {
				t.Fatalf("%d topics moved, want %d", r.moved, n-1)
			}
			if limit := (4*n + 4) * r.moved; r.msgs > limit {
				t.Errorf("%d control messages for %d relocations, want <= %d", r.msgs, r.moved, limit)
			}
		})
	}
}

type relocation struct {
	ok    bool
	why   string
	took  time.Duration
	msgs  int
	moved int
}

// relocate starts n nodes that each publish one of n topics sharing one
// home group, and measures from the first PREPARE to convergence.
func relocate(n int, loss float64, seed uint64) relocation {
	const size = 4096
	s := newSim(simConfig{nodes: n, size: size, control: size, seed: seed, loss: loss, faulty: time.Hour,
		delay: time.Millisecond, hb: time.Second, timeout: 10 * time.Millisecond})
	names := collidingNames(n, size, size)
	for i := range n {
		s.interest(i, names[i], true)
	}
	var first time.Duration = -1
	before := s.controlMessages()
	for s.now < 30*time.Second {
		prev, prevMsgs := s.sent[KindPrepare], s.controlMessages()
		s.run(s.now + time.Millisecond)
		if first < 0 && s.sent[KindPrepare] > prev {
			first = s.now - time.Millisecond
			before = prevMsgs
		}
		if first >= 0 && s.lastCommit > 0 {
			moved := 0
			for _, sn := range s.nodes {
				moved += int(sn.n.Relocations)
			}
			if ok, _ := s.converged(); ok && moved == n-1 {
				return relocation{ok: true, took: s.lastCommit - first, msgs: s.controlMessages() - before, moved: moved}
			}
		}
	}
	_, why := s.converged()
	return relocation{why: why}
}

func TestLateJoin(t *testing.T) {
	const entries = 1000
	s := newSim(simConfig{nodes: 4, size: 1 << 16, control: 80, seed: 1, hb: time.Second, expiry: time.Hour})
	s.run(3 * time.Second)
	for g := range uint32(entries) {
		e := Entry{Group: 100 + g, Topic: TopicID(g + 1), Ballot: Ballot{Round: 1, Node: 1}}
		for _, sn := range s.nodes {
			sn.n.apply(e, new(map[TopicID]struct{}))
		}
	}
	s.nodes = append(s.nodes, &simNode{})
	joined := s.now
	s.start(len(s.nodes)-1, joined)
	late := s.nodes[len(s.nodes)-1].n
	for late.Digest() != s.nodes[0].n.Digest() && s.now < joined+time.Second {
		s.run(s.now + time.Millisecond)
	}
	if got := len(late.Table()); got != entries {
		t.Fatalf("late joiner has %d assignments, want %d", got, entries)
	}
	t.Logf("late joiner learned %d assignments in %v (simulated, 1 ms links)", entries, s.now-joined)
	if s.sent[KindSnapshot] != 1 {
		t.Errorf("%d snapshots answered the request, want 1 (the others suppress)", s.sent[KindSnapshot])
	}
}

func TestExpiry(t *testing.T) {
	names := collidingNames(2, 64, 64)
	s := newSim(simConfig{nodes: 3, size: 64, control: 64, seed: 3, expiry: 2 * time.Second})
	s.interest(0, names[0], true)
	s.interest(1, names[1], true)
	if _, ok, why := s.runUntilConverged(10 * time.Second); !ok {
		t.Fatal(why)
	}
	if got := len(s.nodes[2].n.Table()); got != 1 {
		t.Fatalf("%d assignments after the relocation, want 1", got)
	}
	moved := IDOf(names[1])
	s.interest(1, names[1], false)
	s.run(s.now + 3*time.Second)
	for i, sn := range s.nodes {
		if got := len(sn.n.Table()); got != 0 {
			t.Errorf("node %d still holds %v after expiry", i, sn.n.Table())
		}
		if g := sn.n.Group(moved); g != Home(moved, 64, 64) {
			t.Errorf("node %d: expired topic on group %d, want its home", i, g)
		}
	}
}

// TestPartitionHeal splits four nodes in two, lets each side relocate the
// same collision differently, and checks the tables agree soon after the
// heal, with default timings.
func TestPartitionHeal(t *testing.T) {
	names := collidingNames(3, 16, 16)
	s := newSim(simConfig{nodes: 4, size: 16, control: 16, seed: 9, hb: time.Second, timeout: 50 * time.Millisecond})
	s.split(func(i int) int { return i / 2 })
	s.interest(0, names[0], true)
	s.interest(1, names[1], true)
	s.interest(2, names[0], true)
	s.interest(3, names[2], true)
	s.run(10 * time.Second)
	a, b := s.nodes[0].n.Table(), s.nodes[2].n.Table()
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("sides did not relocate while split: %v | %v", a, b)
	}
	s.heal()
	healed := s.now
	at, ok, why := s.runUntilConverged(30 * time.Second)
	if !ok {
		t.Fatalf("no convergence after heal: %s", why)
	}
	t.Logf("converged %v after the heal (includes 2 heartbeats of stability check)", at-healed)
	if at-healed > 6500*time.Millisecond+2*time.Second+time.Second/2 {
		t.Errorf("tables converged %v after the heal, want <= 6.5 s", at-healed-2*time.Second)
	}
}

// TestPartitionOutlastsExpiry splits four nodes for longer than the
// assignment expiry while only one side mentions a relocated topic: the
// other side frees the group. After the heal every node must hold the
// assignment again, as the side that kept using it does.
func TestPartitionOutlastsExpiry(t *testing.T) {
	names := collidingNames(2, 16, 16)
	s := newSim(simConfig{nodes: 4, size: 16, control: 16, seed: 11, expiry: time.Second})
	s.interest(0, names[0], true)
	s.interest(0, names[1], true)
	if _, ok, why := s.runUntilConverged(10 * time.Second); !ok {
		t.Fatal(why)
	}
	before := s.nodes[3].n.Table()
	if len(before) != 1 {
		t.Fatalf("assignments before the split: %v, want 1", before)
	}
	s.split(func(i int) int { return i / 2 })
	s.run(s.now + 3*time.Second)
	if got := s.nodes[3].n.Table(); len(got) != 0 {
		t.Fatalf("the side that does not use the topic still holds %v after the expiry", got)
	}
	s.heal()
	if _, ok, why := s.runUntilConverged(20 * time.Second); !ok {
		t.Fatalf("no convergence after the heal: %s", why)
	}
	moved := IDOf(names[1])
	for i, sn := range s.nodes {
		if g := sn.n.Group(moved); g != before[0].Group {
			t.Errorf("node %d carries the relocated topic on group %d, want %d", i, g, before[0].Group)
		}
	}
}

// TestLongPartitionSweep runs random networks through a partition longer
// than the assignment expiry, during which some nodes drop a topic (and,
// for half the seeds, take it up again after the heal), and checks every
// table converges after the heal.
func TestLongPartitionSweep(t *testing.T) {
	n := *seeds / 4
	if testing.Short() || raceEnabled {
		n = min(n, 60)
	}
	for seed := range uint64(n) {
		sc := newScenario(seed, nil)
		sc.cfg.expiry = 700 * time.Millisecond
		s := newSim(sc.cfg)
		for i, ts := range sc.topics {
			for _, name := range ts {
				s.interest(i, name, true)
			}
		}
		s.run(time.Second)
		s.split(func(i int) int { return i % 2 })
		for i, ts := range sc.topics {
			if i%3 == 0 {
				s.interest(i, ts[0], false)
			}
		}
		s.run(s.now + 3*time.Second)
		s.heal()
		if seed%2 == 0 {
			for i, ts := range sc.topics {
				if i%3 == 0 {
					s.interest(i, ts[0], true)
				}
			}
		}
		if _, ok, why := s.runUntilConverged(20 * time.Second); !ok {
			t.Fatalf("seed %d (%d nodes): no convergence after the heal: %s", seed, sc.cfg.nodes, why)
		}
	}
}
