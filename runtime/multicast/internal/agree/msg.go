package agree

import "github.com/plexo-go/plexo/internal/interest"

// A Kind is the type of a control message.
type Kind uint8

// The control message kinds.
const (
	KindHello    Kind = 1 + iota // heartbeat: node, topics, digest, view size
	KindSync                     // request for the table (carries the requester's digest)
	KindSnapshot                 // the table, answering a SYNC
	KindPrepare                  // Paxos phase 1a
	KindPromise                  // Paxos phase 1b
	KindNack                     // refusal of a PREPARE or ACCEPT, with the promised ballot
	KindAccept                   // Paxos phase 2a
	KindAccepted                 // Paxos phase 2b
	KindCommit                   // a chosen value
	kindEnd
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k >= KindHello && k < kindEnd }

// String returns the kind's name, such as "HELLO".
func (k Kind) String() string {
	switch k {
	case KindHello:
		return "HELLO"
	case KindSync:
		return "SYNC"
	case KindSnapshot:
		return "SNAPSHOT"
	case KindPrepare:
		return "PREPARE"
	case KindPromise:
		return "PROMISE"
	case KindNack:
		return "NACK"
	case KindAccept:
		return "ACCEPT"
	case KindAccepted:
		return "ACCEPTED"
	case KindCommit:
		return "COMMIT"
	}
	return "UNKNOWN"
}

// A Ballot orders Paxos rounds: (Round, Node) compared lexicographically.
// The zero Ballot is lower than every ballot a proposer uses.
type Ballot struct {
	Round uint32
	Node  uint64
}

// Less reports whether b orders before c.
func (b Ballot) Less(c Ballot) bool {
	if b.Round != c.Round {
		return b.Round < c.Round
	}
	return b.Node < c.Node
}

// IsZero reports whether b is the zero ballot.
func (b Ballot) IsZero() bool { return b == Ballot{} }

// An Entry is one assignment: topic Topic owns group Group, chosen in
// generation Gen of that group's instance at ballot Ballot.
type Entry struct {
	Group  uint32
	Gen    uint32
	Topic  TopicID
	Ballot Ballot
}

// beats reports whether e wins over f for the same group or topic: higher
// generation, then higher ballot, then lower group, then lower topic.
func (e Entry) beats(f Entry) bool {
	if e.Gen != f.Gen {
		return e.Gen > f.Gen
	}
	if e.Ballot != f.Ballot {
		return f.Ballot.Less(e.Ballot)
	}
	if e.Group != f.Group {
		return e.Group < f.Group
	}
	return e.Topic < f.Topic
}

// A Topic is a topic a node mentions in its HELLO.
type Topic struct {
	ID   TopicID
	Name string
	// Hops is how far, in Plexus hops, the nearest subscriber reached
	// through the node is: 1 for the node's own handlers, more for
	// subscribers beyond bridges, 0 when the node only publishes the topic.
	// Values above [MaxHops] count as 0.
	Hops uint8
}

// MaxHops is the farthest a subscriber may be and still count. It is
// internal/interest's, which depends on nothing but the language, so the
// state machine still needs nothing but the standard library; it equals
// plexo.MaxHops (the multicast package's tests check it).
const MaxHops = interest.MaxHops

// A Msg is a control message. Which fields matter depends on Kind:
//
//	HELLO     From, ViewSize, Digest, Topics
//	SYNC      From, Digest
//	SNAPSHOT  From, To (the requester), Entries
//	PREPARE   From, Group, Gen, Ballot
//	PROMISE   From, To, Group, Gen, Ballot, AccBallot, Value, ViewSize
//	NACK      From, To, Group, Gen, Ballot (the one refused), AccBallot (the promised one), NextGen
//	ACCEPT    From, Group, Gen, Ballot, Value
//	ACCEPTED  From, To, Group, Gen, Ballot
//	COMMIT    From, Group, Gen, Ballot, Value
//
// To is the node a reply is addressed to (0: everyone). Every message is
// multicast on the control group; nodes ignore replies addressed to others.
type Msg struct {
	Kind      Kind
	From, To  uint64
	Group     uint32
	Gen       uint32
	Ballot    Ballot
	AccBallot Ballot
	Value     TopicID
	ViewSize  uint32
	NextGen   uint32 // NACK: the lowest generation the sender accepts for Group
	Digest    uint64
	Topics    []Topic
	Entries   []Entry
}
