package plexonats

import (
	"errors"
	"maps"
	"slices"
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
	headerPart     = "Plexo-Part" // "i/n" on the parts of a sync too large for one message

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
	// part and parts number the parts of a sync split over several
	// messages, from 1; both are 0 for a sync in one message.
	part, parts int
}

// maxSyncParts bounds the parts of one sync, so that a part number fits
// the room announce leaves for it.
const maxSyncParts = 1 << 16

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
		if part := h.Get(headerPart); part != "" {
			if im.kind != kindSync {
				return im, errMalformedInterest
			}
			i, n, ok := strings.Cut(part, "/")
			pi, err1 := strconv.ParseUint(i, 10, 32)
			pn, err2 := strconv.ParseUint(n, 10, 32)
			if !ok || err1 != nil || err2 != nil || pi < 1 || pi > pn || pn > maxSyncParts {
				return im, errMalformedInterest
			}
			im.part, im.parts = int(pi), int(pn)
		}
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

// defaultMaxPayload is the payload limit assumed when the connection does
// not know the server's (NATS's own default).
const defaultMaxPayload = 1 << 20

// partRoom is the room a Plexo-Part header takes at most, as NATS encodes
// it: "Plexo-Part: 65536/65536\r\n".
const partRoom = len(headerPart) + len(": 65536/65536\r\n")

// headerSize returns the bytes NATS sends for h: the status line, a line
// per value and a blank line, which count towards the server's maximum
// payload.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// newInterestMsgs encodes an interest announcement as messages that each
// fit maxPayload bytes, headers included, as the server counts them. An add
// or remove too large for one message becomes several of its kind; a sync
// becomes parts, numbered with the Plexo-Part header "i/n", that receivers
// put together before they forget what the sync leaves out (see
// remoteInterest.apply). An entry too long for any message is left out,
// and returned in skipped.
func newInterestMsgs(subject string, origin uint64, kind string, refresh time.Duration, entries []interestEntry, maxPayload int) (msgs []*nats.Msg, skipped []interestEntry) {
	if maxPayload <= 0 {
		maxPayload = defaultMaxPayload
	}
	whole := newInterestMsg(subject, origin, kind, refresh, entries)
	if headerSize(whole.Header)+len(whole.Data) <= maxPayload || kind != kindAdd && kind != kindRemove && kind != kindSync {
		return []*nats.Msg{whole}, nil
	}
	room := maxPayload - headerSize(newInterestMsg(subject, origin, kind, refresh, nil).Header) - partRoom
	var chunks [][]interestEntry
	var chunk []interestEntry
	size := 0
	for _, e := range entries {
		line := len(e.subject) + 1 + len(strconv.Itoa(e.hops))
		if line > room {
			skipped = append(skipped, e)
			continue
		}
		if len(chunk) > 0 && size+1+line > room {
			chunks = append(chunks, chunk)
			chunk, size = nil, 0
		}
		if len(chunk) > 0 {
			size++ // the '\n' before the line
		}
		chunk = append(chunk, e)
		size += line
	}
	if len(chunk) > 0 || len(chunks) == 0 {
		chunks = append(chunks, chunk)
	}
	if kind == kindSync && len(chunks) > maxSyncParts {
		// Past 65536 parts the sync is cut: what is left out is
		// announced by no sync, and peers forget it at their next one.
		skipped = append(skipped, slices.Concat(chunks[maxSyncParts:]...)...)
		chunks = chunks[:maxSyncParts]
	}
	for i, c := range chunks {
		m := newInterestMsg(subject, origin, kind, refresh, c)
		if kind == kindSync && len(chunks) > 1 {
			m.Header.Set(headerPart, strconv.Itoa(i+1)+"/"+strconv.Itoa(len(chunks)))
		}
		msgs = append(msgs, m)
	}
	return msgs, skipped
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

	// syncing holds, while the parts of a split sync arrive, the topics
	// its parts listed so far (those kept in topics, so it is no larger);
	// nextPart is the part expected next, parts how many there are. A
	// part out of sequence (one was lost) abandons the sync: nothing is
	// forgotten until a complete one arrives.
	syncing  map[string]struct{}
	nextPart int
	parts    int
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
		if im.parts > 0 {
			ri.applyPart(p, im)
			break
		}
		p.syncing, p.nextPart, p.parts = nil, 0, 0
		want := make(map[string]int, len(im.entries))
		for _, e := range im.entries {
			if topic, ok := ri.topic(e.subject); ok {
				want[topic] = e.hops
			}
		}
		// Reported in order of name, so that a run can be replayed.
		for _, topic := range slices.Sorted(maps.Keys(p.topics)) {
			if want[topic] == 0 {
				ri.set(p, topic, 0)
			}
		}
		for _, topic := range slices.Sorted(maps.Keys(want)) {
			ri.set(p, topic, want[topic])
		}
	case kindBye:
		ri.forget(im.origin, p)
	}
	if len(p.topics) == 0 {
		delete(ri.peers, im.origin)
	}
}

// applyPart records one part of a split sync: its topics at their
// distances at once, as an add would, and, once the last part of an
// unbroken sequence has come, forgets the topics no part listed.
func (ri *remoteInterest) applyPart(p *peerInterest, im interestMsg) {
	if im.part == 1 {
		p.syncing, p.nextPart, p.parts = make(map[string]struct{}), 1, im.parts
	}
	inSequence := p.syncing != nil && im.part == p.nextPart && im.parts == p.parts
	if !inSequence {
		p.syncing, p.nextPart, p.parts = nil, 0, 0
	}
	for _, e := range im.entries {
		topic, ok := ri.topic(e.subject)
		if !ok {
			continue
		}
		ri.set(p, topic, e.hops)
		if _, kept := p.topics[topic]; kept && inSequence {
			p.syncing[topic] = struct{}{}
		}
	}
	if !inSequence {
		return
	}
	p.nextPart++
	if im.part < im.parts {
		return
	}
	for _, topic := range slices.Sorted(maps.Keys(p.topics)) {
		if _, listed := p.syncing[topic]; !listed {
			ri.set(p, topic, 0)
		}
	}
	p.syncing, p.nextPart, p.parts = nil, 0, 0
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
