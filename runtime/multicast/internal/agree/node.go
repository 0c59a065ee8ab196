package agree

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Defaults for the zero fields of [Config].
const (
	DefaultHeartbeat    = time.Second
	DefaultRoundTimeout = 50 * time.Millisecond
	DefaultBackoff      = 5 * time.Millisecond
	DefaultExpiry       = 2 * time.Minute
	DefaultSyncDelay    = 10 * time.Millisecond
)

// Bounds on what HELLOs and SYNCs from unknown nodes make a node hold:
// sender ids come from the network, and without keys anyone can forge them.
const (
	// MaxPeers caps the membership view; beyond it, the peer heard from
	// least recently is evicted.
	MaxPeers = 4096
	// MaxViewBytes caps the memory of the topics the peers announce (each
	// topic counted as 32 bytes plus its name); beyond it, the peers heard
	// from least recently are evicted, and a HELLO larger than it alone is
	// ignored.
	MaxViewBytes = 16 << 20
)

// Config configures a [Node].
type Config struct {
	Self    uint64 // this node's random id; must not be 0
	Size    uint32 // groups in the range; must be at least 2
	Control uint32 // index of the control group in the range; >= Size when outside it

	Heartbeat    time.Duration // HELLO interval, jittered ±25%; default DefaultHeartbeat
	RoundTimeout time.Duration // a Paxos phase's deadline; default DefaultRoundTimeout
	Backoff      time.Duration // base of the jittered exponential retry backoff; default DefaultBackoff
	Expiry       time.Duration // an assignment nobody mentions this long is dropped; default DefaultExpiry
	SyncDelay    time.Duration // per rank in the view, before answering a SYNC; default DefaultSyncDelay
	Seed         uint64        // seeds the jitter

	rules *rules // nil: paxosRules; tests swap in wrong ones
}

// rules are the parts of Paxos that tests swap, one at a time, for a
// known-wrong version (pyplexo's bugs, in mutation_test.go), to show that
// the sim's checks catch it. Outside this package's tests a Node always
// follows paxosRules: nothing else can set Config.rules.
type rules struct {
	// vote records a vote of node from for proposer p and returns the
	// votes counted towards the quorum.
	vote func(p *proposer, from uint64) int
	// promiseTo is where the PROMISE answering PREPARE m goes.
	promiseTo func(n *Node, m *Msg) uint64
	// acceptBallot is the ballot of the ACCEPT that proposer p sends.
	acceptBallot func(n *Node, p *proposer) Ballot
}

// paxosRules are the correct rules: votes are counted by distinct node, a
// PROMISE goes to the proposer, and a proposer sends ACCEPT with its own
// ballot.
var paxosRules = rules{
	vote: func(p *proposer, from uint64) int {
		p.votes[from] = struct{}{}
		return len(p.votes)
	},
	promiseTo:    func(_ *Node, m *Msg) uint64 { return m.From },
	acceptBallot: func(_ *Node, p *proposer) Ballot { return p.ballot },
}

// An EventKind tells what an [Event] reports.
type EventKind uint8

// The event kinds.
const (
	// EventGroup: the group carrying a topic of local interest changed
	// (for a topic new to local interest, from the group [Node.Group]
	// returned before [Node.SetInterest], even when the call itself
	// moved it).
	EventGroup EventKind = 1 + iota
	// EventInterest: the distance to the nearest subscriber of a topic among
	// the peers changed.
	EventInterest
)

// An Event is a change the transport acts on.
type Event struct {
	Kind  EventKind
	Topic TopicID
	Name  string // EventInterest
	Group uint32 // EventGroup: the new group
	Old   uint32 // EventGroup: the previous group
	// Hops (EventInterest) is the smallest [Topic.Hops] for the topic over
	// the peers in the membership view, 0 when no peer subscribes.
	Hops int
}

type acceptor struct {
	gen      uint32
	promised Ballot
	accepted Ballot
	value    TopicID
}

type proposer struct {
	topic        TopicID // the topic being relocated
	value        TopicID // the value of this instance: topic, or a revealed one
	group, gen   uint32
	ballot       Ballot
	phase        int
	votes        map[uint64]struct{}
	best         Ballot
	bestValue    TopicID
	maxView      uint32
	quorum       int
	deadline     time.Duration
	startedAt    time.Duration
	revealedUsed bool
}

// A Node is one participant of the agreement protocol. It is not safe for
// concurrent use: the transport serialises calls.
type Node struct {
	cfg   Config
	rules *rules
	rng   *rand.Rand

	started   bool
	startedAt time.Duration
	now       time.Duration
	nextHello time.Duration
	// lastTriggered is when the last HELLO brought forward by an interest
	// change went out; such HELLOs are at least Heartbeat/10 apart.
	lastTriggered time.Duration

	view  membership
	local map[TopicID]Topic

	table       assignments
	liveGen     map[uint32]uint32 // lowest live generation per group
	lastMention map[TopicID]time.Duration

	acceptors map[uint32]*acceptor
	maxRound  map[uint32]roundSeen

	proposal     *proposer
	attempts     int
	backoffUntil time.Duration

	syncAnswer  map[uint64]time.Duration // requester -> when this node answers
	lastSyncReq time.Duration
	// lastSnapshot is when this node last sent a snapshot (snapshotSent:
	// ever); snapshotDue, that it owes one to everyone at snapshotDueAt,
	// for the SYNCs that came within a heartbeat of it.
	lastSnapshot  time.Duration
	snapshotSent  bool
	snapshotDue   bool
	snapshotDueAt time.Duration

	toSelf []Msg // what this node sent itself, not yet handled
	out    []Msg
	events []Event

	reportedGroup    map[TopicID]uint32
	reportedInterest map[string]int

	// Stats.
	Commits     uint64 // COMMITs this node sent as proposer
	Relocations uint64 // commits that moved a topic of local interest
	Evictions   uint64 // peers evicted by MaxPeers or MaxViewBytes, and HELLOs ignored as too large
}

// New returns a node. It does nothing until its first [Node.Tick].
func New(cfg Config) *Node {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.RoundTimeout <= 0 {
		cfg.RoundTimeout = DefaultRoundTimeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.SyncDelay <= 0 {
		cfg.SyncDelay = DefaultSyncDelay
	}
	if cfg.Size < 2 {
		cfg.Size = 2
	}
	return &Node{
		cfg:              cfg,
		rules:            cmp.Or(cfg.rules, &paxosRules),
		rng:              rand.New(rand.NewPCG(cfg.Seed, cfg.Self)),
		view:             newMembership(),
		local:            make(map[TopicID]Topic),
		table:            newAssignments(),
		liveGen:          make(map[uint32]uint32),
		lastMention:      make(map[TopicID]time.Duration),
		acceptors:        make(map[uint32]*acceptor),
		maxRound:         make(map[uint32]roundSeen),
		syncAnswer:       make(map[uint64]time.Duration),
		reportedGroup:    make(map[TopicID]uint32),
		reportedInterest: make(map[string]int),
	}
}

// Self returns the node's id.
func (n *Node) Self() uint64 { return n.cfg.Self }

// Outbox returns the messages to multicast on the control group since the
// last call, and forgets them. The caller owns the slice.
func (n *Node) Outbox() []Msg {
	out := n.out
	n.out = nil
	return out
}

// Events returns the changes since the last call, and forgets them.
func (n *Node) Events() []Event {
	ev := n.events
	n.events = nil
	return ev
}

// SetInterest records whether this node publishes or subscribes to a topic
// (t.Hops > 0: it subscribes, that far away). A topic of local interest is
// mentioned in HELLOs and may be relocated by this node.
func (n *Node) SetInterest(now time.Duration, t Topic, on bool) {
	n.now = now
	if old, ok := n.local[t.ID]; (ok != on || old != t) && n.started {
		// Tell peers soon: interest is what makes publishers send.
		n.nextHello = min(n.nextHello, max(now, n.lastTriggered+n.cfg.Heartbeat/10))
		n.lastTriggered = n.nextHello
	}
	if on {
		n.local[t.ID] = t
		n.lastMention[t.ID] = now
		if _, ok := n.reportedGroup[t.ID]; !ok {
			// The caller reads the topic's group before this call: if
			// finishInput moves it at once (a node alone is its own quorum),
			// that must be reported as a change.
			n.reportedGroup[t.ID] = n.Group(t.ID)
		}
	} else {
		delete(n.local, t.ID)
		delete(n.reportedGroup, t.ID)
		if n.proposal != nil && n.proposal.topic == t.ID {
			n.proposal = nil
		}
	}
	n.finishInput()
}

// ViewSize returns how many nodes this node hears, itself included.
func (n *Node) ViewSize() int { return n.view.size() }

// Knows reports whether node id is in this node's membership view: a HELLO
// from it arrived within the last 3 heartbeats, or it is this node.
func (n *Node) Knows(id uint64) bool {
	return n.view.has(id) || id == n.cfg.Self
}

// NextTick returns when the node next needs a [Node.Tick].
func (n *Node) NextTick() time.Duration {
	if !n.started {
		return n.now
	}
	t := n.nextHello
	if n.proposal != nil && n.proposal.deadline < t {
		t = n.proposal.deadline
	}
	if n.proposal == nil && n.backoffUntil > n.now && n.backoffUntil < t && len(n.local) > 0 {
		t = n.backoffUntil
	}
	if s := n.startedAt + n.grace(); s > n.now && s < t {
		t = s
	}
	for _, at := range n.syncAnswer {
		if at < t {
			t = at
		}
	}
	if n.snapshotDue && n.snapshotDueAt < t {
		t = n.snapshotDueAt
	}
	return t
}

func (n *Node) grace() time.Duration { return n.cfg.Heartbeat * 3 / 2 }

func (n *Node) jitter(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(n.rng.Int64N(int64(d)/2+1))
}

// Tick advances the node's timers to now.
func (n *Node) Tick(now time.Duration) {
	n.now = now
	if !n.started {
		n.started = true
		n.startedAt = now
		n.nextHello = now
		n.send(Msg{Kind: KindSync, From: n.cfg.Self, Digest: n.table.digest})
		n.lastSyncReq = now
	}
	if now >= n.nextHello {
		n.hello()
	}
	if n.proposal != nil && now >= n.proposal.deadline {
		n.abort(true)
	}
	n.answerSyncs()
	n.finishInput()
}

func (n *Node) hello() {
	now := n.now
	n.nextHello = now + n.jitter(n.cfg.Heartbeat)
	n.view.forgetSilent(now, missedHeartbeats*n.cfg.Heartbeat)
	topics := make([]Topic, 0, len(n.local))
	for _, t := range n.local {
		topics = append(topics, t)
		n.lastMention[t.ID] = now
	}
	slices.SortFunc(topics, func(a, b Topic) int { return cmpID(a.ID, b.ID) })
	n.expire()
	n.send(Msg{Kind: KindHello, From: n.cfg.Self, ViewSize: uint32(n.ViewSize()), Digest: n.table.digest, Topics: topics})
}

func cmpID(a, b TopicID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Handle processes a control message received at now. Messages from the
// node itself are ignored.
func (n *Node) Handle(now time.Duration, m *Msg) {
	n.now = now
	if m.From == n.cfg.Self || m.From == 0 {
		return
	}
	n.handle(m)
	n.finishInput()
}

func (n *Node) handle(m *Msg) {
	switch m.Kind {
	case KindHello:
		n.onHello(m)
	case KindSync:
		n.onSync(m)
	case KindSnapshot:
		n.onSnapshot(m)
	case KindPrepare:
		n.onPrepare(m)
	case KindAccept:
		n.onAccept(m)
	case KindPromise:
		if m.To == n.cfg.Self {
			n.onPromise(m)
		}
	case KindAccepted:
		if m.To == n.cfg.Self {
			n.onAccepted(m)
		}
	case KindNack:
		if m.To == n.cfg.Self {
			n.onNack(m)
		}
	case KindCommit:
		n.onCommit(m)
	}
}

// send queues m for the network, and for this node's own acceptor and
// proposer when it concerns them.
func (n *Node) send(m Msg) {
	if m.To != n.cfg.Self {
		n.out = append(n.out, m)
	}
	if m.To == n.cfg.Self || (m.To == 0 && (m.Kind == KindPrepare || m.Kind == KindAccept || m.Kind == KindCommit)) {
		n.toSelf = append(n.toSelf, m)
	}
}

// finishInput ends every input (Tick, Handle, SetInterest): it handles what
// the node sent itself and the relocations that start, until nothing is
// left, and reports the changes as events.
func (n *Node) finishInput() {
	for {
		for len(n.toSelf) > 0 {
			m := n.toSelf[0]
			n.toSelf = n.toSelf[1:]
			n.handle(&m)
		}
		n.maybePropose()
		if len(n.toSelf) == 0 {
			break
		}
	}
	n.toSelf = n.toSelf[:0]
	n.reportGroups()
	n.reportInterest()
}

// reportGroups adds an EventGroup for each topic of local interest whose
// group changed since it was last reported.
func (n *Node) reportGroups() {
	ids := make([]TopicID, 0, len(n.local))
	for id := range n.local {
		ids = append(ids, id)
	}
	slices.Sort(ids) // events in a deterministic order
	for _, id := range ids {
		g := n.Group(id)
		old, ok := n.reportedGroup[id]
		if !ok {
			n.reportedGroup[id] = g
			continue
		}
		if old != g {
			n.reportedGroup[id] = g
			n.events = append(n.events, Event{Kind: EventGroup, Topic: id, Group: g, Old: old})
		}
	}
}

// reportInterest adds an EventInterest for each topic whose subscribers
// among the peers are all gone, in order of name, then, in order of name, for each whose
// nearest subscriber's distance changed, since it was last reported.
func (n *Node) reportInterest() {
	if !n.view.topicsChanged {
		return
	}
	n.view.topicsChanged = false
	want := n.view.nearestSubscribers()
	var gone []string
	for name := range n.reportedInterest {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone) // events in a deterministic order
	for _, name := range gone {
		delete(n.reportedInterest, name)
		n.events = append(n.events, Event{Kind: EventInterest, Topic: IDOf(name), Name: name})
	}
	names := make([]string, 0)
	for name, h := range want {
		if n.reportedInterest[name] != h {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		n.reportedInterest[name] = want[name]
		n.events = append(n.events, Event{Kind: EventInterest, Topic: IDOf(name), Name: name, Hops: want[name]})
	}
}

func (n *Node) onHello(m *Msg) {
	evicted, ok := n.view.heard(n.now, m)
	n.Evictions += evicted
	if !ok {
		return
	}
	for _, t := range m.Topics {
		// Only mentions of assigned topics matter (they keep the
		// assignment from expiring): recording others would let HELLOs
		// fill the map with made-up ids. apply records a topic's first.
		if _, ok := n.table.byTopic[t.ID]; ok {
			n.lastMention[t.ID] = n.now
		}
	}
	if m.Digest != n.table.digest && n.now-n.lastSyncReq >= n.cfg.Heartbeat/2 {
		n.lastSyncReq = n.now
		n.send(Msg{Kind: KindSync, From: n.cfg.Self, Digest: n.table.digest})
	}
}
