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
// sender's refresh interval in milliseconds in headerRefresh, and subjects
// separated by '\n' as data.
const (
	headerInterest = "Plexo-Interest"
	headerRefresh  = "Plexo-Refresh"

	kindAdd    = "add"    // the sender subscribes to the subjects
	kindRemove = "remove" // the sender unsubscribed from the subjects
	kindSync   = "sync"   // the subjects are all the sender subscribes to
	kindQuery  = "query"  // the sender asks everyone for a sync
	kindBye    = "bye"    // the sender is gone
)

var errMalformedInterest = errors.New("plexonats: malformed interest message")

// maxRefresh bounds the refresh interval a peer may claim, so that a bogus
// one cannot pin its interest for ever.
const maxRefresh = time.Hour

type interestMsg struct {
	origin   uint64
	kind     string
	refresh  time.Duration
	subjects []string
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
		if len(data) > 0 {
			im.subjects = strings.Split(string(data), "\n")
		}
	case kindQuery, kindBye:
	default:
		return im, errMalformedInterest
	}
	return im, nil
}

// newInterestMsg encodes an interest exchange message.
func newInterestMsg(subject string, origin uint64, kind string, refresh time.Duration, subjects []string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set(HeaderOrigin, strconv.FormatUint(origin, 16))
	m.Header.Set(headerInterest, kind)
	if kind == kindAdd || kind == kindRemove || kind == kindSync {
		m.Header.Set(headerRefresh, strconv.FormatInt(max(refresh.Milliseconds(), 1), 10))
		m.Data = []byte(strings.Join(subjects, "\n"))
	}
	return m
}

// remoteInterest is what the other plexonats transports want, as this
// transport reports it to its Plexus: a topic is wanted while at least one
// peer (or a declaration of WithRemoteInterest) wants it.
type remoteInterest struct {
	prefix string

	// mu is held while reporting changes to the host, so that reports reach
	// it in the order the changes happened.
	mu       sync.Mutex
	host     plexo.Host
	peers    map[uint64]*peerInterest
	declared map[string]bool
	counts   map[string]int
}

type peerInterest struct {
	topics  map[string]bool
	expires time.Time
}

func newRemoteInterest(prefix string) *remoteInterest {
	return &remoteInterest{
		prefix:   prefix,
		peers:    make(map[uint64]*peerInterest),
		declared: make(map[string]bool),
		counts:   make(map[string]int),
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
			ri.inc(topic)
		}
	}
}

func (ri *remoteInterest) inc(topic string) {
	ri.counts[topic]++
	if ri.counts[topic] == 1 {
		ri.host.SetInterest(topic, true)
	}
}

func (ri *remoteInterest) dec(topic string) {
	ri.counts[topic]--
	if ri.counts[topic] <= 0 {
		delete(ri.counts, topic)
		ri.host.SetInterest(topic, false)
	}
}

// topic maps a subject back to its topic name.
func (ri *remoteInterest) topic(subject string) (string, bool) {
	topic, ok := strings.CutPrefix(subject, ri.prefix)
	return topic, ok && topic != ""
}

// apply records what a peer announced.
func (ri *remoteInterest) apply(im interestMsg, now time.Time) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	p := ri.peers[im.origin]
	if p == nil {
		if im.kind != kindAdd && im.kind != kindSync {
			return
		}
		p = &peerInterest{topics: make(map[string]bool)}
		ri.peers[im.origin] = p
	}
	p.expires = now.Add(3 * im.refresh)
	switch im.kind {
	case kindAdd:
		for _, s := range im.subjects {
			if topic, ok := ri.topic(s); ok && !p.topics[topic] {
				p.topics[topic] = true
				ri.inc(topic)
			}
		}
	case kindRemove:
		for _, s := range im.subjects {
			if topic, ok := ri.topic(s); ok && p.topics[topic] {
				delete(p.topics, topic)
				ri.dec(topic)
			}
		}
	case kindSync:
		now := make(map[string]bool, len(im.subjects))
		for _, s := range im.subjects {
			if topic, ok := ri.topic(s); ok {
				now[topic] = true
			}
		}
		for topic := range p.topics {
			if !now[topic] {
				delete(p.topics, topic)
				ri.dec(topic)
			}
		}
		for topic := range now {
			if !p.topics[topic] {
				p.topics[topic] = true
				ri.inc(topic)
			}
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
	for topic := range p.topics {
		ri.dec(topic)
	}
}

// peerCount returns how many peers want something.
func (ri *remoteInterest) peerCount() int {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return len(ri.peers)
}
