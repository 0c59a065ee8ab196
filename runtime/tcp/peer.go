package tcp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/internal/envelope"
)

// ioBufferSize is the size of each connection's read and write buffers.
const ioBufferSize = 64 << 10

// closeGrace bounds how long a closing connection spends sending what is
// queued and waiting for the peer to hang up.
const closeGrace = time.Second

// maxKeptBuffer bounds the queue buffer a writer keeps for reuse.
const maxKeptBuffer = 2*maxQueueBytes + ioBufferSize

// directGap is how long a peer's sending must have been quiet for Send to
// write a frame to the socket itself rather than wake the writer. A
// message after a quiet spell goes out at once, without a goroutine
// hand-off; messages closer together go to the writer, which batches them
// into fewer writes. At such a rate the writer would anyway wake and write
// once per message, so writing directly never costs more syscalls.
const directGap = 10 * time.Microsecond

// monoEpoch is the origin of the monotonic times kept in peer.quiet.
var monoEpoch = time.Now()

// maxInterned bounds the topic names a peer's reader keeps, so that
// receiving a message does not allocate its topic string.
const maxInterned = 1024

// maxInternedLen bounds the length of the names the reader interns, so that
// a peer sending long names cannot make it keep maxInterned frames' worth
// of memory. Real topic names are much shorter.
const maxInternedLen = 256

// A peer is one handshaken connection: a reader (the goroutine running
// run) that hands what arrives to the Host, and a writer goroutine that
// drains the peer's send queue in batches.
type peer struct {
	t        *Transport
	conn     net.Conn
	direct   *directWriter // nil unless Send may write to conn itself
	id       uint64
	maxOut   int // the peer's maximum frame size
	queueCap int
	policy   plexo.Overflow

	// Guarded by t.mu.
	wants     map[string]int // the peer's distance to each topic's nearest subscriber (>0)
	wantBytes int            // the bytes of the topic names in wants
	told      map[string]int // the distance the peer was last told, per topic (>0)
	removed   bool

	// Reader state.
	msg    plexo.Message
	topics map[string]string
	last   string // the topic interned last

	// The send queue, guarded by qmu: data frames back to back in
	// data[head:], control frames in ctrl, written control first.
	qmu     sync.Mutex
	data    []byte
	head    int
	queued  int // data frames in data[head:]
	ctrl    []byte
	partial int  // bytes at the start of ctrl that end a frame Send began writing directly
	ponging bool // a PONG waits in ctrl: it answers every PING read before it
	// The distances to tell the peer, per topic (0: UNSUBSCRIBE), in the
	// order the topics changed first; the writer frames them into ctrl.
	// Changes of one topic before the writer takes them coalesce, so that
	// however fast interest changes, what waits is bounded by the topics.
	interest      map[string]int
	interestOrder []string
	idle          bool          // the writer waits for wake
	quiet         time.Duration // since monoEpoch: when the writer last went idle, or Send last wrote
	stopping      bool          // no more frames are accepted
	stopErr       error         // why, sent in a CLOSE frame
	graceful      bool          // flush the queue before closing
	retired       bool          // the counters went to t.retired: drops now count on t.lateDrops
	room          chan struct{} // closed when room appears, for OverflowBlock
	wake          chan struct{} // capacity 1
	quit          chan struct{} // closed by stop

	// closeBy is when a stopped connection gives up writing and reading
	// (UnixNano), or 0: no deadline moves past it.
	closeBy atomic.Int64

	sent, received, dropped, bytesSent, bytesReceived atomic.Uint64
}

func newPeer(t *Transport, conn net.Conn, h hello) *peer {
	return &peer{
		t:        t,
		conn:     conn,
		direct:   newDirectWriter(conn),
		id:       h.peerID,
		maxOut:   int(h.maxFrame),
		queueCap: t.cfg.queueSize,
		policy:   t.cfg.overflow,
		wants:    make(map[string]int),
		told:     make(map[string]int),
		topics:   make(map[string]string),
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
	}
}

// run serves the connection until it ends, and returns why.
func (p *peer) run(h plexo.Host) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.writer()
	}()
	err := p.reader(h)
	if errors.Is(err, io.EOF) {
		err = ErrPeerClosed
	}
	var closed *PeerClosedError
	p.stop(err, errors.As(err, &closed))
	wg.Wait()
	p.qmu.Lock()
	lost := p.queued
	p.queued = 0
	p.qmu.Unlock()
	p.dropped.Add(uint64(lost))
	return err
}

// stop ends the connection: the writer sends a CLOSE frame with the reason
// (after what is queued, if graceful) and hangs up.
func (p *peer) stop(reason error, graceful bool) {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if p.stopping {
		return
	}
	p.stopping, p.stopErr, p.graceful = true, reason, graceful
	// Whatever the writer is doing, it has closeGrace left: a write blocked
	// on a peer that stopped reading fails then, rather than at the
	// heartbeat timeout.
	deadline := time.Now().Add(closeGrace)
	p.closeBy.Store(deadline.UnixNano())
	_ = p.conn.SetWriteDeadline(deadline)
	close(p.quit)
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
}

// enqueue frames msg as a DATA frame into the send queue.
func (p *peer) enqueue(ctx context.Context, msg *plexo.Message) error {
	size := 1 + envelope.Size(msg.Topic, msg.Payload, msg.Origin, msg.Sequence)
	if size > p.maxOut {
		p.drop(1)
		return fmt.Errorf("tcp: send %s: %d-byte frame, peer accepts %d: %w", msg.Topic, size, p.maxOut, plexo.ErrMessageTooLarge)
	}
	p.qmu.Lock()
	for {
		if p.stopping {
			p.dropLocked(1) // Send may come after the peer is retired
			p.qmu.Unlock()
			return nil
		}
		if p.queued == 0 || p.queued < p.queueCap && len(p.data)-p.head+4+size <= maxQueueBytes {
			break
		}
		switch p.policy {
		case plexo.OverflowDropNewest:
			p.qmu.Unlock()
			p.dropped.Add(1)
			return nil
		case plexo.OverflowBlock:
			if p.room == nil {
				p.room = make(chan struct{})
			}
			room := p.room
			p.qmu.Unlock()
			select {
			case <-room:
			case <-ctx.Done():
				p.drop(1)
				return fmt.Errorf("tcp: send %s: %w", msg.Topic, ctx.Err())
			}
			p.qmu.Lock()
		default: // OverflowDropOldest
			n := int(binary.BigEndian.Uint32(p.data[p.head:]))
			p.head += 4 + n
			p.queued--
			p.dropped.Add(1)
			if p.head > len(p.data)/2 {
				p.data = p.data[:copy(p.data, p.data[p.head:])]
				p.head = 0
			}
		}
	}
	if need := 4 + size; cap(p.data)-len(p.data) < need {
		// Grow within what the writer keeps for reuse, unless the frame
		// needs more.
		n := max(min(2*cap(p.data), maxKeptBuffer), len(p.data)+need, 4096)
		p.data = append(make([]byte, 0, n), p.data...)
	}
	p.data = binary.BigEndian.AppendUint32(p.data, uint32(size))
	p.data = append(p.data, kindData)
	p.data = envelope.Append(p.data, msg.Topic, msg.Payload, msg.Origin, msg.Sequence)
	p.queued++
	if p.idle && p.queued == 1 && len(p.ctrl) == 0 && p.direct != nil && 4+size <= ioBufferSize {
		if now := time.Since(monoEpoch); now-p.quiet >= directGap {
			p.quiet = now
			p.writeDirectLocked()
		}
	}
	if p.queued > 0 || p.hasControlLocked() {
		p.signalLocked()
	}
	p.qmu.Unlock()
	return nil
}

// drop counts n data messages lost.
func (p *peer) drop(n int) {
	p.qmu.Lock()
	p.dropLocked(n)
	p.qmu.Unlock()
}

// dropLocked counts n data messages lost, on the peer's counters or, once
// unregister has added those to the Transport's, on the Transport. qmu
// must be held.
func (p *peer) dropLocked(n int) {
	if p.retired {
		p.t.lateDrops.Add(uint64(n))
	} else {
		p.dropped.Add(uint64(n))
	}
}

// writeDirectLocked tries to write the one queued frame, at most
// ioBufferSize bytes, to the socket right away: the writer is idle, so its buffer is flushed and nothing
// else writes. What the socket does not take at once is left for the
// writer, before anything else. qmu must be held.
func (p *peer) writeDirectLocked() {
	frame := p.data[p.head:]
	n := p.direct.tryWrite(frame)
	if n == 0 {
		return
	}
	if n < len(frame) {
		p.ctrl = append(p.ctrl, frame[n:]...) // written first; ctrl is empty
		p.partial = len(p.ctrl)
	}
	p.data, p.head, p.queued = p.data[:0], 0, 0
	p.sent.Add(1)
	p.bytesSent.Add(uint64(n))
}

// control queues a control frame with a string body.
func (p *peer) control(kind byte, body string) {
	p.qmu.Lock()
	if !p.stopping {
		p.ctrl = appendStringFrame(p.ctrl, kind, body)
		p.signalLocked()
	}
	p.qmu.Unlock()
}

// pong queues a PONG frame unless one is queued already: a PONG says the
// connection is alive, so one answers every PING that came before it, and
// a peer pinging faster than the connection carries PONGs cannot grow the
// queue without bound.
func (p *peer) pong() {
	p.qmu.Lock()
	if !p.stopping && !p.ponging {
		p.ctrl = appendStringFrame(p.ctrl, kindPong, "")
		p.ponging = true
		p.signalLocked()
	}
	p.qmu.Unlock()
}

// tell queues telling the peer its distance, in hops, to topic's nearest
// subscriber through this side: a SUBSCRIBE, or an UNSUBSCRIBE for 0. It
// replaces what waits to be told of the topic.
func (p *peer) tell(hops int, topic string) {
	p.qmu.Lock()
	if !p.stopping {
		if p.interest == nil {
			p.interest = make(map[string]int)
		}
		if _, ok := p.interest[topic]; !ok {
			p.interestOrder = append(p.interestOrder, topic)
		}
		p.interest[topic] = hops
		p.signalLocked()
	}
	p.qmu.Unlock()
}

// frameInterestLocked moves what waits to be told of interest into ctrl.
// qmu must be held.
func (p *peer) frameInterestLocked() {
	for _, topic := range p.interestOrder {
		if hops := p.interest[topic]; hops > 0 {
			p.ctrl = appendSubscribeFrame(p.ctrl, hops, topic)
		} else {
			p.ctrl = appendStringFrame(p.ctrl, kindUnsubscribe, topic)
		}
	}
	clear(p.interest)
	clear(p.interestOrder) // drop the strings
	p.interestOrder = p.interestOrder[:0]
}

// hasControlLocked reports whether control frames wait. qmu must be held.
func (p *peer) hasControlLocked() bool {
	return len(p.ctrl) > 0 || len(p.interestOrder) > 0
}

// signalLocked wakes the writer if it waits. qmu must be held.
func (p *peer) signalLocked() {
	if p.idle {
		p.idle = false
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// writer drains the send queue into the connection, control frames first,
// batching what accumulates while it writes and flushing when the queue is
// empty. It pings when the connection has been idle for an interval.
func (p *peer) writer() {
	w := bufio.NewWriterSize(p.conn, ioBufferSize)
	tick := time.NewTicker(p.t.cfg.heartbeatInterval)
	defer tick.Stop()
	var data, ctrl []byte
	wrote := false
	for {
		p.qmu.Lock()
		for p.queued == 0 && !p.hasControlLocked() && !p.stopping {
			if !p.idle {
				p.idle = true
				p.quiet = time.Since(monoEpoch)
			}
			p.qmu.Unlock()
			select {
			case <-p.wake:
			case <-p.quit:
			case <-tick.C:
				if !wrote {
					p.control(kindPing, "")
				}
				wrote = false
			}
			p.qmu.Lock()
		}
		if p.stopping {
			p.qmu.Unlock()
			p.finish(w)
			return
		}
		// Swap the queue for the spare buffers and write it unlocked.
		p.frameInterestLocked()
		data, p.data = p.data, data[:0]
		batch, n := data[p.head:], p.queued
		ctrl, p.ctrl = p.ctrl, ctrl[:0]
		p.head, p.queued, p.partial, p.ponging = 0, 0, 0, false
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
		p.qmu.Unlock()

		_ = p.conn.SetWriteDeadline(time.Now().Add(p.t.cfg.heartbeatTimeout))
		if by := p.closeBy.Load(); by != 0 {
			// stop set its deadline meanwhile, and this one replaced it.
			_ = p.conn.SetWriteDeadline(time.Unix(0, by))
		}
		_, err := w.Write(ctrl)
		if err == nil {
			_, err = w.Write(batch)
		}
		if err == nil && p.empty() {
			err = w.Flush()
		}
		if err != nil {
			p.dropped.Add(uint64(n))
			p.stop(fmt.Errorf("tcp: write: %w", err), false)
			_ = p.conn.Close() // unblocks the reader
			return
		}
		p.sent.Add(uint64(n))
		p.bytesSent.Add(uint64(len(ctrl) + len(batch)))
		wrote = true
		if cap(data) > maxKeptBuffer {
			data = nil // do not pin a burst's memory
		}
		if cap(ctrl) > ioBufferSize {
			ctrl = nil // nor a partly written frame's
		}
	}
}

func (p *peer) empty() bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	return p.queued == 0 && !p.hasControlLocked()
}

// finish sends, within the closeGrace stop gave, what a graceful stop leaves queued and a
// CLOSE frame with the reason, then hangs up its side.
func (p *peer) finish(w *bufio.Writer) {
	p.qmu.Lock()
	reason, graceful := p.stopErr, p.graceful
	// The rest of a frame Send began writing directly goes out whatever
	// happens: anything else written after its start would land inside it.
	tail := append([]byte(nil), p.ctrl[:p.partial]...)
	var n int
	if graceful {
		p.frameInterestLocked()
		tail = append(append(tail, p.ctrl[p.partial:]...), p.data[p.head:]...)
		n = p.queued
		p.queued = 0
	}
	p.qmu.Unlock()
	deadline := time.Unix(0, p.closeBy.Load()) // set by stop
	_, err := w.Write(tail)
	nbytes := len(tail)
	var closed *PeerClosedError
	if !errors.As(reason, &closed) {
		msg := "closed"
		if reason != nil {
			msg = reason.Error()
		}
		frame := appendStringFrame(nil, kindClose, truncateUTF8(msg, min(maxCloseReason, p.maxOut-1)))
		_, _ = w.Write(frame)
		nbytes += len(frame)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		p.sent.Add(uint64(n))
		p.bytesSent.Add(uint64(nbytes))
	} else {
		p.dropped.Add(uint64(n))
	}
	if cw, ok := p.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	// The reader sees the peer hang up, or gives up after the grace, even
	// if the peer keeps sending: closeBy stops the reader's deadline from
	// moving on.
	_ = p.conn.SetReadDeadline(deadline)
}

// reader hands the frames that arrive to the Host until the connection
// fails, breaks the protocol, or is closed. A goroutine of its own reads
// the socket into a few recycled buffers meanwhile, so that reading and
// handing over overlap.
func (p *peer) reader(h plexo.Host) error {
	tr := &timeoutReader{c: p.conn, d: p.t.cfg.heartbeatTimeout, closeBy: &p.closeBy}
	fr := newFrameReader(tr, p.t.cfg.maxFrame, ioBufferSize)
	fr.quit = make(chan struct{})
	batches := make(chan []byte, readBuffers)
	// inflight counts the batches sent to the dispatcher and not yet
	// handled. When it is zero and a read brings a lone frame, as in a
	// request/reply, the reading goroutine handles the frame itself: a
	// hand-off would wake the dispatcher, which costs a request/reply an OS
	// context switch when the Host then hands the message on to a goroutine
	// of its own. Under load batches hold many frames, and go to the
	// dispatcher.
	var inflight atomic.Int32
	var rerr error // why reading ended, once batches is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		for {
			b, err := fr.nextBatch()
			if err != nil {
				rerr = err
				return
			}
			if inflight.Load() == 0 && lone(b) {
				err := p.handleBatch(h, b)
				fr.release(b)
				if err != nil {
					rerr = err
					return
				}
				// Let the goroutine the Host handed the message to run
				// on this thread before the next read: otherwise the
				// read, which finds nothing and parks, would come first
				// and put a syscall between a request and its reply.
				runtime.Gosched()
				continue
			}
			inflight.Add(1)
			select {
			case batches <- b:
			case <-fr.quit:
				rerr = errReadStopped
				return
			}
		}
	}()
	err := p.dispatch(h, fr, batches, &inflight)
	if err == nil {
		err = rerr
		p.qmu.Lock()
		stopping := p.stopping
		p.qmu.Unlock()
		if errors.Is(err, os.ErrDeadlineExceeded) && !stopping {
			err = fmt.Errorf("%w: peer silent for %v", ErrHeartbeatTimeout, p.t.cfg.heartbeatTimeout)
		}
	} else {
		// Stop the reading goroutine: wherever it is, it returns promptly.
		tr.stop.Store(true)
		close(fr.quit)
		_ = p.conn.SetReadDeadline(time.Now())
	}
	<-done
	return err
}

// dispatch handles the batches of frames that the reading goroutine sends,
// until it closes the channel (then it returns nil) or a frame ends the
// connection.
func (p *peer) dispatch(h plexo.Host, fr *frameReader, batches <-chan []byte, inflight *atomic.Int32) error {
	for batch := range batches {
		err := p.handleBatch(h, batch)
		fr.release(batch)
		if err != nil {
			// inflight stays above zero: the reading goroutine, which runs
			// until the caller stops it, must not take it for an idle
			// dispatcher and handle a frame that came after this one.
			return err
		}
		inflight.Add(-1)
	}
	return nil
}

// lone reports whether a batch holds a single frame.
func lone(batch []byte) bool {
	return len(batch) == 4+int(binary.BigEndian.Uint32(batch))
}

// handleBatch acts on each frame of a batch, in order, until one ends the
// connection. Either the dispatcher or the reading goroutine calls it,
// never both at once.
func (p *peer) handleBatch(h plexo.Host, batch []byte) error {
	// The message handed to the Host is reused: Source never changes and
	// Topic only with the topic, which spares the write barriers of
	// rewriting the whole struct for every message.
	p.msg.Source = p
	p.bytesReceived.Add(uint64(len(batch)))
	for rest := batch; len(rest) > 0; {
		var kind byte
		var body []byte
		kind, body, rest = splitFrame(rest)
		if err := p.handle(h, kind, body); err != nil {
			return err
		}
	}
	return nil
}

// handle acts on one frame.
func (p *peer) handle(h plexo.Host, kind byte, body []byte) error {
	switch kind {
	case kindData:
		e, err := envelope.Decode(body)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		if p.t.life.Err() != nil {
			return nil // closing: deliver nothing more
		}
		p.received.Add(1)
		if topic := p.intern(e.Topic); p.msg.Topic != topic {
			p.msg.Topic = topic
		}
		p.msg.Payload, p.msg.Origin, p.msg.Sequence = e.Payload, e.Origin, e.Sequence
		h.Deliver(&p.msg)
	case kindSubscribe, kindUnsubscribe:
		hops := 0
		if kind == kindSubscribe {
			if len(body) == 0 || body[0] == 0 || int(body[0]) > plexo.MaxHops {
				return fmt.Errorf("%w: SUBSCRIBE with a distance outside 1..%d", ErrProtocol, plexo.MaxHops)
			}
			hops, body = int(body[0]), body[1:]
		}
		if len(body) == 0 || !utf8.Valid(body) {
			return fmt.Errorf("%w: %s with an invalid topic %q", ErrProtocol, kindName(kind), truncateUTF8(string(body), maxQuoted))
		}
		if err := p.t.peerInterest(h, p, p.intern(body), hops); err != nil {
			return err
		}
	case kindPing:
		p.pong()
	case kindPong:
	case kindClose:
		return &PeerClosedError{Reason: string(body)}
	default:
		return fmt.Errorf("%w: unknown frame kind %s", ErrProtocol, kindName(kind))
	}
	return nil
}

// intern returns b as a string, without allocating for names seen before.
func (p *peer) intern(b []byte) string {
	if string(b) == p.last {
		return p.last // a run of one topic's messages skips the map
	}
	if s, ok := p.topics[string(b)]; ok {
		p.last = s
		return s
	}
	s := string(b)
	if len(p.topics) < maxInterned && len(s) <= maxInternedLen {
		p.topics[s] = s
	}
	p.last = s
	return s
}

// counters returns the peer's counters.
func (p *peer) counters() Counters {
	return Counters{
		Sent:          p.sent.Load(),
		Received:      p.received.Load(),
		Dropped:       p.dropped.Load(),
		BytesSent:     p.bytesSent.Load(),
		BytesReceived: p.bytesReceived.Load(),
	}
}

// A timeoutReader keeps a read deadline ahead of each read, so that a
// connection silent for longer than the heartbeat timeout fails. Moving a
// deadline costs a runtime timer update, so it moves at most every eighth
// of the timeout, and lies up to that much further out: silence is
// detected after between d and 9/8 d. Once stop is set it fails every
// read: whoever sets it and then a past deadline is sure that a read in
// progress or to come returns promptly. Once *closeBy is set, the deadline
// stays there: whoever stores it and then sets that deadline is sure that
// no renewal outlives it.
type timeoutReader struct {
	c       net.Conn
	d       time.Duration
	renew   time.Duration // since monoEpoch: when the deadline moves next
	stop    atomic.Bool
	closeBy *atomic.Int64 // UnixNano, or 0
}

func (r *timeoutReader) Read(b []byte) (int, error) {
	if now := time.Since(monoEpoch); now >= r.renew && r.closeBy.Load() == 0 {
		if err := r.c.SetReadDeadline(time.Now().Add(r.d + r.d/8)); err != nil {
			return 0, err
		}
		r.renew = now + r.d/8
		if by := r.closeBy.Load(); by != 0 {
			// finish set its deadline meanwhile, and this one replaced it.
			_ = r.c.SetReadDeadline(time.Unix(0, by))
		}
	}
	if r.stop.Load() {
		return 0, errReadStopped
	}
	return r.c.Read(b)
}
