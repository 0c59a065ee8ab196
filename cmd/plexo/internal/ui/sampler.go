package ui

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/plexo-go/plexo"
)

// historyLen is how many one-second samples each topic keeps: a minute.
const historyLen = 60

// counter counts one topic's traffic as it arrives.
type counter struct {
	msgs  atomic.Uint64
	bytes atomic.Uint64
}

// counters maps topic names to their counters. The map is replaced, never
// changed, so that the raw handler reads it without a lock.
type counters struct {
	m  atomic.Pointer[map[string]*counter]
	mu sync.Mutex // serializes replacements
}

func newCounters() *counters {
	c := &counters{}
	m := make(map[string]*counter)
	c.m.Store(&m)
	return c
}

// count is the raw handler of the namespace subscription: atomics only,
// except the first time a topic is seen.
func (c *counters) count(_ context.Context, m *plexo.RawMessage) {
	ctr := (*c.m.Load())[m.Topic]
	if ctr == nil {
		ctr = c.add(m.Topic)
	}
	ctr.msgs.Add(1)
	ctr.bytes.Add(uint64(len(m.Payload)))
}

// add returns the counter of topic, making it if needed.
func (c *counters) add(topic string) *counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if ctr := old[topic]; ctr != nil {
		return ctr
	}
	m := maps.Clone(old)
	ctr := new(counter)
	m[topic] = ctr
	c.m.Store(&m)
	return ctr
}

// keep forgets the counters of the topics not in keep.
func (c *counters) keep(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	var drop bool
	for topic := range old {
		if !keep[topic] {
			drop = true
			break
		}
	}
	if !drop {
		return
	}
	m := make(map[string]*counter, len(keep))
	for topic, ctr := range old {
		if keep[topic] {
			m[topic] = ctr
		}
	}
	c.m.Store(&m)
}

// get returns the counter of topic or nil.
func (c *counters) get(topic string) *counter { return (*c.m.Load())[topic] }

// history is one topic's samples.
type history struct {
	lastMsgs, lastBytes uint64
	rates               [historyLen]float64 // msgs/s, oldest first
	bytesRate           float64
	dropped, decodeErrs uint64
}

func (h *history) push(msgs, bytes uint64, seconds float64) {
	dm, db := msgs-h.lastMsgs, bytes-h.lastBytes
	h.lastMsgs, h.lastBytes = msgs, bytes
	copy(h.rates[:], h.rates[1:])
	h.rates[historyLen-1] = round1(float64(dm) / seconds)
	h.bytesRate = round1(float64(db) / seconds)
}

// round1 rounds x to one decimal, which is all the page shows.
func round1(x float64) float64 {
	return float64(int64(x*10+0.5)) / 10
}

// topicRow is a topic as the "topics" event sends it.
type topicRow struct {
	Topic       string    `json:"topic"`
	Message     string    `json:"message"`
	Codec       string    `json:"codec"`
	Publishers  int       `json:"publishers"`
	Subscribers int       `json:"subscribers"`
	History     []float64 `json:"history"`
	BytesRate   float64   `json:"bytesRate"`
	Dropped     uint64    `json:"dropped"`
	DecodeErrs  uint64    `json:"decodeErrors"`
}

// topicsEvent is the "topics" event.
type topicsEvent struct {
	Version int        `json:"version"`
	Publish bool       `json:"publish"`
	Self    string     `json:"self"`
	Topics  []topicRow `json:"topics"`
}

// tickEvent is the "tick" event: [index, msgs/s, bytes/s, dropped, decode
// errors] per topic with something not zero.
type tickEvent struct {
	Version int          `json:"version"`
	Time    int64        `json:"time"` // Unix milliseconds
	Rows    [][5]float64 `json:"rows"`
}

// snapshot is what the sampler publishes each second: the events a new
// viewer gets, pre-encoded once for all viewers.
type snapshot struct {
	version int
	tick    []byte // the "tick" event
	system  []byte // the "system" event, or nil before the first

	topicsOnce sync.Once
	topicsEv   *topicsEvent
	topics     []byte // the "topics" event, with histories, encoded on demand
	// next is closed when a newer snapshot replaces this one.
	next chan struct{}
}
