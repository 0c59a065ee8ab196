package plexonats

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// Interest exchange messages, published on interestSubject(prefix), carry
// the sender's origin in HeaderOrigin, their kind in headerInterest, the
// sender's refresh interval in milliseconds in headerRefresh, and, as data,
// one line per subject separated by '\n': the subject, a space, and the
// sender's distance to the subject's nearest subscriber in decimal (1..
// plexo.MaxHops in add and sync, 0 in remove).
const (
	headerInterest = "Plexo-Interest"
	headerRefresh  = "Plexo-Refresh"

	kindAdd    = "add"    // the sender's distance to the subjects is now as given
	kindRemove = "remove" // the sender no longer wants the subjects
	kindSync   = "sync"   // the subjects, at their distances, are all the sender wants
	kindQuery  = "query"  // the sender asks everyone for a sync
	kindBye    = "bye"    // the sender is gone
)

var errMalformedInterest = errors.New("plexonats: malformed interest message")

// maxRefresh bounds the refresh interval a peer may claim, so that a bogus
// one cannot pin its interest for ever.
const maxRefresh = time.Hour

// Bounds on what the interest exchange remembers, so that forged
// announcements (from any client allowed to publish on the exchange's
// subject, under as many origins as it likes) pin bounded memory here and
// in the Plexus, which keeps a route for every topic reported to it. What
// arrives beyond them is ignored, and logged once.
const (
	maxInterestPeers   = 1 << 12 // peers that want something
	maxInterestTopics  = 1 << 14 // distinct topics wanted by peers, as many as a TCP peer may subscribe to
	maxInterestEntries = 1 << 16 // (peer, topic) pairs
)

type interestMsg struct {
	origin  uint64
	kind    string
	refresh time.Duration
	entries []interestEntry
}

// An interestEntry is one line of an interest message: how many Plexus hops
// away from the sender the nearest subscriber of a subject is.
type interestEntry struct {
	subject string
	hops    int
}

// parseInterest decodes an interest exchange message.
func parseInterest(h nats.Header, data []byte) (interestMsg, error) {
	var im interestMsg
	o := h.Get(HeaderOrigin)
	origin, err := strconv.ParseUint(o, 16, 64)
	if err != nil {
		return im, errMalformedInterest
	}
	im.origin = origin
	im.kind = h.Get(headerInterest)
	switch im.kind {
	case kindAdd, kindRemove, kindSync:
		ms, err := strconv.ParseUint(h.Get(headerRefresh), 10, 64)
		if err != nil || ms == 0 {
			return im, errMalformedInterest
		}
		im.refresh = time.Duration(min(ms, uint64(maxRefresh.Milliseconds()))) * time.Millisecond
		if len(data) == 0 {
			break
		}
		lines := strings.Split(string(data), "\n")
		im.entries = make([]interestEntry, 0, len(lines))
		for _, line := range lines {
			subject, text, ok := strings.Cut(line, " ")
			if !ok || subject == "" {
				return im, errMalformedInterest
			}
			hops, err := strconv.ParseUint(text, 10, 8)
			if err != nil {
				return im, errMalformedInterest
			}
			if im.kind == kindRemove && hops != 0 || im.kind != kindRemove && (hops < 1 || hops > plexo.MaxHops) {
				return im, errMalformedInterest
			}
			im.entries = append(im.entries, interestEntry{subject: subject, hops: int(hops)})
		}
	case kindQuery, kindBye:
	default:
		return im, errMalformedInterest
	}
	return im, nil
}

// newInterestMsg encodes an interest exchange message.
func newInterestMsg(subject string, origin uint64, kind string, refresh time.Duration, entries []interestEntry) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set(HeaderOrigin, strconv.FormatUint(origin, 16))
	m.Header.Set(headerInterest, kind)
	if kind == kindAdd || kind == kindRemove || kind == kindSync {
		m.Header.Set(headerRefresh, strconv.FormatInt(max(refresh.Milliseconds(), 1), 10))
		var data []byte
		for i, e := range entries {
			if i > 0 {
				data = append(data, '\n')
			}
			data = append(data, e.subject...)
			data = append(data, ' ')
			data = strconv.AppendInt(data, int64(e.hops), 10)
		}
		m.Data = data
	}
	return m
}

// remoteInterest is what the other plexonats transports want, as this
// transport reports it to its Plexus: the distance to a topic's nearest
// subscriber is the smallest any peer announces (1 for a declaration of
// WithRemoteInterest). NATS is a broadcast medium where every transport
// hears every other directly, so it adds no hop of its own.
type remoteInterest struct {
	prefix string

	// mu is held while reporting changes to the host, so that reports reach
	// it in the order the changes happened.
	mu       sync.Mutex
	host     plexo.Host
	peers    map[uint64]*peerInterest
	declared map[string]bool
	reported map[string]int // the distance last reported to the host, if any

	// topics holds the topics peers want, each with how many peers want it
	// and its name as a string of its own: the names parsed from a message
	// point into the message's data, which must not stay pinned by a map
	// key here or in the Plexus.
	topics  map[string]*topicRef
	entries int  // (peer, topic) pairs, the sum of the peers' len(topics)
	full    bool // a bound was reached and logged
}

// A topicRef counts a topic's peers per distance. It is a copy of the root
// module's internal/interest.Counts, kept here so that this module does not
// depend on an internal, unversioned API of the root (see that package's
// doc).
type topicRef struct {
	name string
	at   [plexo.MaxHops + 1]int // how many peers want the topic at each distance
}

// nearest returns the shortest distance at which a peer wants the topic,
// or 0 when none does. Counting the peers at each distance spares a walk
// over all the peers for each change.
func (r *topicRef) nearest() int {
	for h := 1; h <= plexo.MaxHops; h++ {
		if r.at[h] > 0 {
			return h
		}
	}
	return 0
}

type peerInterest struct {
	topics  map[string]int // the peer's distance to each topic it wants
	expires time.Time
}

func newRemoteInterest(prefix string) *remoteInterest {
	return &remoteInterest{
		prefix:   prefix,
		peers:    make(map[uint64]*peerInterest),
		declared: make(map[string]bool),
		reported: make(map[string]int),
		topics:   make(map[string]*topicRef),
	}
}

// start reports the declared topics to h.
func (ri *remoteInterest) start(h plexo.Host, declared []string) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.host = h
	for _, topic := range declared {
		if !ri.declared[topic] {
			ri.declared[topic] = true
			ri.update(topic)
		}
	}
}

// update reports to the host the distance to the topic's nearest
// subscriber, if it changed.
func (ri *remoteInterest) update(topic string) {
	hops := 0
	if ri.declared[topic] {
		hops = 1
	} else if ref := ri.topics[topic]; ref != nil {
		hops = ref.nearest()
	}
	if hops == ri.reported[topic] {
		return
	}
	if hops == 0 {
		delete(ri.reported, topic)
	} else {
		ri.reported[topic] = hops
	}
	ri.host.SetInterest(topic, hops)
}

// set records a peer's distance to a topic, 0 for none, within the bounds
// on what the exchange remembers.
func (ri *remoteInterest) set(p *peerInterest, topic string, hops int) {
	old, had := p.topics[topic]
	if old == hops {
		return
	}
	ref := ri.topics[topic]
	switch {
	case hops == 0:
		delete(p.topics, topic)
		ri.unref(ref, old)
	case !had:
		if ri.entries >= maxInterestEntries || ref == nil && len(ri.topics) >= maxInterestTopics {
			ri.overflow("too many topics wanted")
			return
		}
		if ref == nil {
			ref = &topicRef{name: strings.Clone(topic)}
			ri.topics[ref.name] = ref
		}
		ref.at[hops]++
		ri.entries++
		p.topics[ref.name] = hops
	default:
		ref.at[old]--
		ref.at[hops]++
		p.topics[ref.name] = hops
	}
	ri.update(ref.name)
}

// unref drops the reference of a peer that wanted a topic at distance hops.
func (ri *remoteInterest) unref(ref *topicRef, hops int) {
	ri.entries--
	ref.at[hops]--
	if ref.nearest() == 0 {
		delete(ri.topics, ref.name)
	}
}

// overflow logs, once, that a bound on what the exchange remembers was
// reached.
func (ri *remoteInterest) overflow(what string) {
	if ri.full {
		return
	}
	ri.full = true
	ri.host.Logger().Warn("plexonats: ignoring interest announcements: "+what+" (forged announcements?)",
		"peers", len(ri.peers), "topics", len(ri.topics), "entries", ri.entries)
}

// topic maps a subject back to its topic name; it rejects a subject that
// is not a valid one to publish on, so wildcards and garbage never reach
// the Plexus.
func (ri *remoteInterest) topic(subject string) (string, bool) {
	topic, ok := strings.CutPrefix(subject, ri.prefix)
	return topic, ok && topic != "" && checkSubject(subject) == nil
}

// apply records what a peer announced.
func (ri *remoteInterest) apply(im interestMsg, now time.Time) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	p := ri.peers[im.origin]
	if p == nil {
		if im.kind != kindAdd && im.kind != kindSync || len(im.entries) == 0 {
			return
		}
		if len(ri.peers) >= maxInterestPeers {
			ri.overflow("too many peers")
			return
		}
		p = &peerInterest{topics: make(map[string]int)}
		ri.peers[im.origin] = p
	}
	p.expires = now.Add(3 * im.refresh)
	switch im.kind {
	case kindAdd, kindRemove:
		for _, e := range im.entries {
			if topic, ok := ri.topic(e.subject); ok {
				ri.set(p, topic, e.hops)
			}
		}
	case kindSync:
		want := make(map[string]int, len(im.entries))
		for _, e := range im.entries {
			if topic, ok := ri.topic(e.subject); ok {
				want[topic] = e.hops
			}
		}
		for topic := range p.topics {
			if want[topic] == 0 {
				ri.set(p, topic, 0)
			}
		}
		for topic, hops := range want {
			ri.set(p, topic, hops)
		}
	case kindBye:
		ri.forget(im.origin, p)
	}
	if len(p.topics) == 0 {
		delete(ri.peers, im.origin)
	}
}

// expire forgets the peers not heard from in time.
func (ri *remoteInterest) expire(now time.Time) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	for origin, p := range ri.peers {
		if now.After(p.expires) {
			ri.forget(origin, p)
		}
	}
}

func (ri *remoteInterest) forget(origin uint64, p *peerInterest) {
	delete(ri.peers, origin)
	for topic, hops := range p.topics {
		ri.unref(ri.topics[topic], hops)
		ri.update(topic)
	}
}

// peerCount returns how many peers want something.
func (ri *remoteInterest) peerCount() int {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return len(ri.peers)
}
