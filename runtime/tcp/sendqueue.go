package tcp

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/internal/envelope"
)

// maxKeptBuffer bounds the queue buffer a writer keeps for reuse.
const maxKeptBuffer = 2*maxQueueBytes + ioBufferSize

// directGap is how long a peer's sending must have been quiet for Send to
// write a frame to the socket itself rather than wake the writer. A
// message after a quiet spell goes out at once, without a goroutine
// hand-off; messages closer together go to the writer, which batches them
// into fewer writes. At such a rate the writer would anyway wake and write
// once per message, so writing directly never costs more syscalls.
const directGap = 10 * time.Microsecond

// monoEpoch is the origin of the monotonic times kept in sendQueue.quiet.
var monoEpoch = time.Now()

// A sendQueue holds what waits to be written to one peer: data frames,
// control frames, and interest not yet framed. The peer's writer goroutine
// takes it all at once and writes it unlocked. Every field is guarded by
// mu, except the channels themselves.
type sendQueue struct {
	mu sync.Mutex

	// Data frames back to back in data[head:], queued of them, at most
	// limit unless the only one.
	data   []byte
	head   int
	queued int
	limit  int

	// Control frames, written before the data frames.
	ctrl    []byte
	partial int  // bytes at the start of ctrl that end a frame Send began writing directly
	ponging bool // a PONG waits in ctrl: it answers every PING read before it

	// The distances to tell the peer, per topic (0: UNSUBSCRIBE), in the
	// order the topics changed first; the writer frames them into ctrl.
	// Changes of one topic before the writer takes them coalesce, so that
	// however fast interest changes, what waits is bounded by the topics.
	interest      map[string]int
	interestOrder []string

	// The writer's state and the connection's end.
	idle     bool          // the writer waits for wake
	quiet    time.Duration // since monoEpoch: when the writer last went idle, or Send last wrote
	stopping bool          // no more frames are accepted
	stopErr  error         // why, sent in a CLOSE frame
	graceful bool          // flush the queue before closing
	retired  bool          // the peer's counters went to Transport.retired: drops now count on Transport.lateDrops
	room     chan struct{} // closed when room appears, for OverflowBlock
	wake     chan struct{} // capacity 1
	quit     chan struct{} // closed by peer.stop
}

// A batch is what the writer takes from the queue at once.
type batch struct {
	data   []byte // the queue's data buffer, kept for reuse
	frames []byte // the data frames within data
	ctrl   []byte // the control frames, written first
	n      int    // the number of data frames
}

// trim drops buffers too large to keep for reuse: a burst's memory, or a
// partly written frame's, is not pinned.
func (b *batch) trim() {
	if cap(b.data) > maxKeptBuffer {
		b.data = nil
	}
	if cap(b.ctrl) > ioBufferSize {
		b.ctrl = nil
	}
}

func newSendQueue(limit int) sendQueue {
	return sendQueue{
		limit: limit,
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
	}
}

// fullLocked reports whether a frame of size bytes (kind and body) does
// not fit the queue. A queue with no data frame takes any frame. q.mu
// must be held.
func (q *sendQueue) fullLocked(size int) bool {
	return q.queued > 0 && (q.queued >= q.limit || len(q.data)-q.head+4+size > maxQueueBytes)
}

// dropOldestLocked removes the oldest data frame. q.mu must be held and a
// data frame queued.
func (q *sendQueue) dropOldestLocked() {
	n := int(binary.BigEndian.Uint32(q.data[q.head:]))
	q.head += 4 + n
	q.queued--
	if q.head > len(q.data)/2 {
		q.data = q.data[:copy(q.data, q.data[q.head:])]
		q.head = 0
	}
}

// roomLocked returns a channel closed when the queue next has room, or the
// peer stops. q.mu must be held.
func (q *sendQueue) roomLocked() <-chan struct{} {
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.room
}

// releaseRoomLocked wakes the senders waiting for room. q.mu must be held.
func (q *sendQueue) releaseRoomLocked() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

// pushDataLocked frames msg, of size bytes (kind and envelope), as a DATA
// frame at the end of the queue. q.mu must be held.
func (q *sendQueue) pushDataLocked(msg *plexo.Message, size int) {
	if need := 4 + size; cap(q.data)-len(q.data) < need {
		// Grow within what the writer keeps for reuse, unless the frame
		// needs more.
		n := max(min(2*cap(q.data), maxKeptBuffer), len(q.data)+need, 4096)
		q.data = append(make([]byte, 0, n), q.data...)
	}
	q.data = binary.BigEndian.AppendUint32(q.data, uint32(size))
	q.data = append(q.data, kindData)
	q.data = envelope.Append(q.data, msg.Topic, msg.Payload, msg.Origin, msg.Sequence)
	q.queued++
}

// directLocked reports whether the data frame just queued, of size bytes,
// may be written to the socket by the sender: it is all that waits, the
// writer is idle, and sending has been quiet for directGap. If so, it
// records the write as the latest. q.mu must be held.
func (q *sendQueue) directLocked(size int) bool {
	if !q.idle || q.queued != 1 || len(q.ctrl) != 0 || 4+size > ioBufferSize {
		return false
	}
	now := time.Since(monoEpoch)
	if now-q.quiet < directGap {
		return false
	}
	q.quiet = now
	return true
}

// pushControl queues a control frame with a string body.
func (q *sendQueue) pushControl(kind byte, body string) {
	q.mu.Lock()
	if !q.stopping {
		q.ctrl = appendStringFrame(q.ctrl, kind, body)
		q.signalLocked()
	}
	q.mu.Unlock()
}

// pushPong queues a PONG frame unless one is queued already: a PONG says
// the connection is alive, so one answers every PING that came before it,
// and a peer pinging faster than the connection carries PONGs cannot grow
// the queue without bound.
func (q *sendQueue) pushPong() {
	q.mu.Lock()
	if !q.stopping && !q.ponging {
		q.ctrl = appendStringFrame(q.ctrl, kindPong, "")
		q.ponging = true
		q.signalLocked()
	}
	q.mu.Unlock()
}

// pushInterest queues telling the peer its distance, in hops, to topic's
// nearest subscriber: a SUBSCRIBE, or an UNSUBSCRIBE for 0. It replaces
// what waits to be told of the topic.
func (q *sendQueue) pushInterest(hops int, topic string) {
	q.mu.Lock()
	if !q.stopping {
		if q.interest == nil {
			q.interest = make(map[string]int)
		}
		if _, ok := q.interest[topic]; !ok {
			q.interestOrder = append(q.interestOrder, topic)
		}
		q.interest[topic] = hops
		q.signalLocked()
	}
	q.mu.Unlock()
}

// frameInterestLocked moves what waits to be told of interest into ctrl.
// q.mu must be held.
func (q *sendQueue) frameInterestLocked() {
	for _, topic := range q.interestOrder {
		if hops := q.interest[topic]; hops > 0 {
			q.ctrl = appendSubscribeFrame(q.ctrl, hops, topic)
		} else {
			q.ctrl = appendStringFrame(q.ctrl, kindUnsubscribe, topic)
		}
	}
	clear(q.interest)
	clear(q.interestOrder) // drop the strings
	q.interestOrder = q.interestOrder[:0]
}

// hasControlLocked reports whether control frames wait. q.mu must be held.
func (q *sendQueue) hasControlLocked() bool {
	return len(q.ctrl) > 0 || len(q.interestOrder) > 0
}

// emptyLocked reports whether nothing waits to be written. q.mu must be
// held.
func (q *sendQueue) emptyLocked() bool {
	return q.queued == 0 && !q.hasControlLocked()
}

// empty is emptyLocked for a caller not holding q.mu.
func (q *sendQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.emptyLocked()
}

// signalLocked wakes the writer if it waits. q.mu must be held.
func (q *sendQueue) signalLocked() {
	if q.idle {
		q.idle = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// idleLocked records that the writer is about to wait for wake. q.mu must
// be held.
func (q *sendQueue) idleLocked() {
	if !q.idle {
		q.idle = true
		q.quiet = time.Since(monoEpoch)
	}
}

// takeLocked returns everything queued, with pending interest framed, and
// leaves the queue empty on spare's buffers, whose content is done with.
// Senders waiting for room are woken. q.mu must be held.
func (q *sendQueue) takeLocked(spare batch) batch {
	q.frameInterestLocked()
	b := batch{data: q.data, frames: q.data[q.head:], ctrl: q.ctrl, n: q.queued}
	q.data, q.ctrl = spare.data[:0], spare.ctrl[:0]
	q.head, q.queued, q.partial, q.ponging = 0, 0, 0, false
	q.releaseRoomLocked()
	return b
}

// takeLastLocked returns what a stopped connection still sends, and the
// number of data frames in it: the rest of a frame Send began writing
// directly, which goes out whatever happens (anything else written after
// its start would land inside it), and, if graceful, everything queued.
// q.mu must be held.
func (q *sendQueue) takeLastLocked(graceful bool) (tail []byte, n int) {
	tail = append([]byte(nil), q.ctrl[:q.partial]...)
	if graceful {
		q.frameInterestLocked()
		tail = append(append(tail, q.ctrl[q.partial:]...), q.data[q.head:]...)
		n = q.queued
		q.queued = 0
	}
	return tail, n
}

// discard forgets the data frames queued and returns how many there were.
func (q *sendQueue) discard() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.queued
	q.queued = 0
	return n
}

// len returns the number of data frames queued.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}
