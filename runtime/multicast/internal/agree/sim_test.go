package agree

import (
	"bytes"
	"container/heap"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// simConfig describes one simulated run.
type simConfig struct {
	nodes   int
	size    uint32
	control uint32
	seed    uint64

	loss    float64       // probability a datagram to one receiver is lost
	dup     float64       // probability it is delivered twice (or three times)
	delay   time.Duration // base one-way latency
	spread  time.Duration // extra uniform latency: reorders datagrams
	faulty  time.Duration // loss, duplication, partitions and crashes stop after this
	hb      time.Duration
	timeout time.Duration
	expiry  time.Duration

	rules *rules // nil: paxosRules

	// trace makes the sim record every event it processes and everything
	// the nodes send and report, in order (see sim.trace).
	trace bool
}

func (c *simConfig) defaults() {
	if c.size == 0 {
		c.size = 64
		c.control = 1 << 31
	}
	if c.delay == 0 {
		c.delay = time.Millisecond
	}
	if c.hb == 0 {
		c.hb = 100 * time.Millisecond
	}
	if c.timeout == 0 {
		c.timeout = 20 * time.Millisecond
	}
	if c.expiry == 0 {
		c.expiry = time.Hour
	}
}

type simEvent struct {
	at   time.Duration
	seq  uint64
	to   int
	tick bool
	msg  Msg
}

type eventHeap []simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type simNode struct {
	n      *Node
	up     bool
	tickAt time.Duration
	topics []Topic // local interest, re-applied after a restart
	side   int     // partition side
}

// sim is a deterministic network of Nodes: one seeded random source drives
// loss, duplication, latency (hence reordering), partitions and crashes.
type sim struct {
	cfg   simConfig
	rng   *rand.Rand
	now   time.Duration
	seq   uint64
	nodes []*simNode
	q     eventHeap

	partitioned bool
	everSplit   bool                  // safety of chosen values is not checked across partitions
	chosen      map[[2]uint32]TopicID // (group, gen) -> first committed value
	violations  []string
	sent        map[Kind]int
	lastCommit  time.Duration
	lost        int // datagrams the faulty network dropped (one per receiver)
	duplicated  int // extra copies it delivered

	// trace, with simConfig.trace, holds one line per tick, delivery,
	// message sent and event reported: two runs of one seed must give the
	// same bytes.
	trace *bytes.Buffer
}

// tracef adds a line to the trace, if there is one.
func (s *sim) tracef(format string, args ...any) {
	if s.trace != nil {
		fmt.Fprintf(s.trace, "%d "+format+"\n", append([]any{s.now}, args...)...)
	}
}

func newSim(cfg simConfig) *sim {
	cfg.defaults()
	s := &sim{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.seed, 0x5eed)),
		chosen: make(map[[2]uint32]TopicID),
		sent:   make(map[Kind]int),
	}
	if cfg.trace {
		s.trace = new(bytes.Buffer)
	}
	for i := 0; i < cfg.nodes; i++ {
		s.nodes = append(s.nodes, &simNode{})
		s.start(i, time.Duration(s.rng.Int64N(int64(cfg.hb))))
	}
	return s
}

func (s *sim) newNode() *Node {
	n := New(Config{
		Self:         s.rng.Uint64() | 1,
		Size:         s.cfg.size,
		Control:      s.cfg.control,
		Heartbeat:    s.cfg.hb,
		RoundTimeout: s.cfg.timeout,
		Backoff:      s.cfg.timeout / 4,
		Expiry:       s.cfg.expiry,
		SyncDelay:    s.cfg.delay * 2,
		Seed:         s.rng.Uint64(),
		rules:        s.cfg.rules,
	})
	return n
}

// start (re)starts node i with a fresh identity and state at time at.
func (s *sim) start(i int, at time.Duration) {
	sn := s.nodes[i]
	sn.n = s.newNode()
	sn.n.now = at
	sn.up = true
	for _, t := range sn.topics {
		sn.n.SetInterest(at, t, true)
	}
	s.schedule(i, at)
}

func (s *sim) crash(i int) { s.nodes[i].up = false }

func (s *sim) schedule(i int, at time.Duration) {
	sn := s.nodes[i]
	if at < s.now {
		at = s.now
	}
	sn.tickAt = at
	s.seq++
	heap.Push(&s.q, simEvent{at: at, seq: s.seq, to: i, tick: true})
}

// interest makes node i publish or subscribe to topic name.
func (s *sim) interest(i int, name string, on bool) {
	sn := s.nodes[i]
	t := Topic{ID: IDOf(name), Name: name, Hops: 1}
	if on {
		sn.topics = append(sn.topics, t)
	} else {
		sn.topics = slices.DeleteFunc(sn.topics, func(u Topic) bool { return u.ID == t.ID })
	}
	if sn.up {
		sn.n.SetInterest(s.now, t, on)
		s.flush(i)
	}
}

func (s *sim) faulty() bool { return s.now < s.cfg.faulty }

// flush sends what node i queued and reschedules its tick.
func (s *sim) flush(i int) {
	sn := s.nodes[i]
	for _, m := range sn.n.Outbox() {
		s.tracef("node %d sends %v %+v", i, m.Kind, m)
		s.sent[m.Kind]++
		if m.Kind == KindCommit && m.To == 0 {
			s.record(Entry{Group: m.Group, Gen: m.Gen, Topic: m.Value, Ballot: m.Ballot})
			s.lastCommit = s.now
		}
		for j, rn := range s.nodes {
			if j == i || !rn.up {
				continue
			}
			if s.partitioned && rn.side != sn.side {
				continue
			}
			copies := 1
			if s.faulty() {
				if s.rng.Float64() < s.cfg.loss {
					s.lost++
					continue
				}
				if s.rng.Float64() < s.cfg.dup {
					copies += 1 + s.rng.IntN(2)
					s.duplicated += copies - 1
				}
			}
			for range copies {
				d := s.cfg.delay
				if s.cfg.spread > 0 {
					d += time.Duration(s.rng.Int64N(int64(s.cfg.spread)))
				}
				s.seq++
				heap.Push(&s.q, simEvent{at: s.now + d, seq: s.seq, to: j, msg: m})
			}
		}
	}
	for _, ev := range sn.n.Events() {
		s.tracef("node %d reports %+v", i, ev)
	}
	if next := sn.n.NextTick(); next != sn.tickAt || next < s.now {
		s.schedule(i, next)
	}
}

// record checks Paxos safety: the value chosen for (group, gen) never changes.
func (s *sim) record(e Entry) {
	if s.everSplit {
		return
	}
	k := [2]uint32{e.Group, e.Gen}
	if v, ok := s.chosen[k]; ok && v != e.Topic {
		s.violations = append(s.violations, fmt.Sprintf("t=%v group %d gen %d: chosen %x, then %x at %+v", s.now, e.Group, e.Gen, v, e.Topic, e.Ballot))
		return
	}
	s.chosen[k] = e.Topic
}

// run processes events until time end.
func (s *sim) run(end time.Duration) {
	for s.q.Len() > 0 && s.q[0].at <= end {
		ev := heap.Pop(&s.q).(simEvent)
		s.now = ev.at
		sn := s.nodes[ev.to]
		if !sn.up {
			continue
		}
		if ev.tick {
			if ev.at != sn.tickAt {
				continue // superseded
			}
			s.tracef("node %d ticks", ev.to)
			sn.n.Tick(s.now)
		} else {
			s.tracef("node %d receives %v from %x", ev.to, ev.msg.Kind, ev.msg.From)
			sn.n.Handle(s.now, &ev.msg)
		}
		s.flush(ev.to)
	}
	s.now = end
}

// converged reports, with a reason when not, whether every live node has
// the same table, no relocation is running, and no two active topics share
// a group.
func (s *sim) converged() (bool, string) {
	var ref *Node
	active := make(map[TopicID]bool)
	for _, sn := range s.nodes {
		if !sn.up {
			continue
		}
		for _, t := range sn.topics {
			active[t.ID] = true
		}
		if sn.n.proposal != nil {
			return false, fmt.Sprintf("node %x busy", sn.n.Self())
		}
		if ref == nil {
			ref = sn.n
			continue
		}
		if sn.n.Digest() != ref.Digest() || !slices.Equal(sn.n.Table(), ref.Table()) {
			return false, fmt.Sprintf("tables differ: %x %v vs %x %v", ref.Self(), ref.Table(), sn.n.Self(), sn.n.Table())
		}
	}
	if ref == nil {
		return true, ""
	}
	for _, sn := range s.nodes {
		if !sn.up {
			continue
		}
		owner := make(map[uint32]TopicID)
		for _, t := range slices.Sorted(maps.Keys(active)) {
			g := sn.n.Group(t)
			if u, ok := owner[g]; ok {
				return false, fmt.Sprintf("node %x: topics %x and %x share group %d", sn.n.Self(), u, t, g)
			}
			owner[g] = t
		}
	}
	return true, ""
}

// runUntilConverged runs until the network has converged, checking once per
// heartbeat, or until limit; it returns when it converged.
func (s *sim) runUntilConverged(limit time.Duration) (time.Duration, bool, string) {
	end := s.now + limit
	why := ""
	for s.now < end {
		s.run(s.now + s.cfg.hb/2)
		var ok bool
		if ok, why = s.converged(); ok {
			// Stable for two more heartbeats?
			s.run(s.now + 2*s.cfg.hb)
			if ok, why = s.converged(); ok {
				return s.now, true, ""
			}
		}
	}
	return s.now, false, why
}

// checkTables verifies every table entry against the chosen values.
func (s *sim) checkTables() {
	if len(s.violations) > 0 || s.everSplit {
		return
	}
	for _, sn := range s.nodes {
		if !sn.up {
			continue
		}
		for _, e := range sn.n.Table() {
			if v, ok := s.chosen[[2]uint32{e.Group, e.Gen}]; ok && v != e.Topic {
				s.violations = append(s.violations, fmt.Sprintf("node %x holds %x at group %d gen %d, chosen %x", sn.n.Self(), e.Topic, e.Group, e.Gen, v))
			}
		}
	}
}

// split partitions the nodes: side(i) tells each node's side.
func (s *sim) split(side func(i int) int) {
	for i, sn := range s.nodes {
		sn.side = side(i)
	}
	s.partitioned, s.everSplit = true, true
}

// shortSplit is split for less time than failure detection takes: Paxos
// must stay safe across it, so chosen values are still checked.
func (s *sim) shortSplit(side func(i int) int) {
	for i, sn := range s.nodes {
		sn.side = side(i)
	}
	s.partitioned = true
}

func (s *sim) heal() { s.partitioned = false }

func (s *sim) controlMessages() int {
	n := 0
	for k, c := range s.sent {
		if k != KindHello {
			n += c
		}
	}
	return n
}
