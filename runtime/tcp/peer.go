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

// maxInterned bounds the topic names a peer's reader keeps, so that
// receiving a message does not allocate its topic string.
const maxInterned = 1024

// maxInternedLen bounds the length of the names the reader interns, so that
// a peer sending long names cannot make it keep maxInterned frames' worth
// of memory. Real topic names are much shorter.
const maxInternedLen = 256

// maxHandOver bounds how many messages a connection's reader hands to
// the Host in one [plexo.BatchHost.DeliverBatch].
const maxHandOver = 64

// A peer is one handshaken connection: a reader (the goroutine running
// run) that hands what arrives to the Host, and a writer goroutine that
// drains the peer's send queue in batches.
type peer struct {
	// Set by newPeer, then only read.
	t      *Transport
	conn   net.Conn
	direct *directWriter // nil unless Send may write to conn itself
	id     uint64
	maxOut int // the peer's maximum frame size
	policy plexo.Overflow

	// Guarded by t.mu.
	wants     map[string]int // the peer's distance to each topic's nearest subscriber (>0)
	wantBytes int            // the bytes of the topic names in wants
	told      map[string]int // the distance the peer was last told, per topic (>0)
	removed   bool

	// Used only by whoever handles frames: the dispatcher or the reading
	// goroutine, never both at once.
	host   plexo.BatchHost // the Host, if it takes batches
	msgs   []plexo.Message // DATA frames decoded and not yet handed over
	woke   bool            // the Host handed a message to a goroutine it woke, since read last looked
	topics map[string]string
	last   string // the topic interned last

	// q is what waits to be written, with a lock of its own.
	q sendQueue

	// closeBy is when a stopped connection gives up writing and reading
	// (UnixNano), or 0: no deadline moves past it. Atomic.
	closeBy atomic.Int64

	// probeBy is when the connection ends unless the peer has sent
	// something, after probe (UnixNano), or 0. Atomic.
	probeBy atomic.Int64

	// Atomic counters.
	sent, received, dropped, bytesSent, bytesReceived atomic.Uint64
}

func newPeer(t *Transport, conn net.Conn, h hello) *peer {
	p := &peer{
		t:      t,
		conn:   conn,
		direct: newDirectWriter(conn),
		id:     h.peerID,
		maxOut: int(h.maxFrame),
		policy: t.cfg.overflow,
		wants:  make(map[string]int),
		told:   make(map[string]int),
		topics: make(map[string]string),
		msgs:   make([]plexo.Message, maxHandOver),
		q:      newSendQueue(t.cfg.queueSize),
	}
	// The messages handed to the Host are reused: Source never changes
	// and Topic only with the topic, which spares the write barriers of
	// rewriting whole structs for every message.
	for i := range p.msgs {
		p.msgs[i].Source = p
	}
	p.msgs = p.msgs[:0]
	return p
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
	p.dropped.Add(uint64(p.q.discard()))
	return err
}

// stop ends the connection: the writer sends a CLOSE frame with the reason
// (after what is queued, if graceful) and hangs up.
func (p *peer) stop(reason error, graceful bool) {
	q := &p.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return
	}
	q.stopping, q.stopErr, q.graceful = true, reason, graceful
	// Whatever the writer is doing, it has closeGrace left: a write blocked
	// on a peer that stopped reading fails then, rather than at the
	// heartbeat timeout.
	deadline := time.Now().Add(closeGrace)
	p.closeBy.Store(deadline.UnixNano())
	_ = p.conn.SetWriteDeadline(deadline)
	close(q.quit)
	q.releaseRoomLocked()
}

// maxProbeTimeout bounds how long a connection has to answer the PING of
// probe.
const maxProbeTimeout = time.Second

// probeTimeout returns how long the connection has to answer the PING of
// probe: maxProbeTimeout, or the heartbeat timeout if shorter.
func (p *peer) probeTimeout() time.Duration {
	return min(maxProbeTimeout, p.t.cfg.heartbeatTimeout)
}

// probe pings the peer and ends the connection unless something arrives
// within probeTimeout. A Transport probes a connection when the same peer
// (by id) connects again: the peer lost this connection in a way this side
// did not notice (a cut between them, a crash of its host), and has
// reconnected, so it will never answer here, and this side drops the
// connection at once rather than at the heartbeat timeout, with its
// interest. A peer that keeps two live connections to this side on purpose
// (dialing it at two addresses) answers, and both stay.
func (p *peer) probe() {
	by := time.Now().Add(p.probeTimeout())
	p.probeBy.Store(by.UnixNano())
	p.q.pushControl(kindPing, "")
	if p.closeBy.Load() == 0 {
		_ = p.conn.SetReadDeadline(by)
	}
}

// enqueue frames msg as a DATA frame into the send queue, or writes it to
// the socket at once when sending has been quiet.
func (p *peer) enqueue(ctx context.Context, msg *plexo.Message) error {
	size := 1 + envelope.Size(msg.Topic, msg.Payload, msg.Origin, msg.Sequence)
	if size > p.maxOut {
		p.drop(1)
		return fmt.Errorf("tcp: send %s: %d-byte frame, peer accepts %d: %w", msg.Topic, size, p.maxOut, plexo.ErrMessageTooLarge)
	}
	queued, err := p.lockRoom(ctx, size)
	if err != nil {
		return fmt.Errorf("tcp: send %s: %w", msg.Topic, err)
	}
	if !queued {
		return nil
	}
	q := &p.q
	q.pushDataLocked(msg, size)
	if p.direct != nil && q.directLocked(size) {
		p.writeDirectLocked()
	}
	if !q.emptyLocked() {
		q.signalLocked()
	}
	q.mu.Unlock()
	return nil
}

// lockRoom locks the send queue once it has room for a frame of size
// bytes, making room as the overflow policy says, and reports true. It
// reports false, with the queue unlocked, when the message is dropped
// instead (and counted): the peer stops, the policy drops the newest, or
// ctx ends while the policy blocks, which is the error.
func (p *peer) lockRoom(ctx context.Context, size int) (bool, error) {
	q := &p.q
	q.mu.Lock()
	for !q.stopping && q.fullLocked(size) {
		if p.policy == plexo.OverflowBlock {
			room := q.roomLocked()
			q.mu.Unlock()
			select {
			case <-room:
			case <-ctx.Done():
				p.drop(1)
				return false, ctx.Err()
			}
			q.mu.Lock()
			continue
		}
		p.dropped.Add(1)
		if p.policy == plexo.OverflowDropNewest {
			q.mu.Unlock()
			return false, nil
		}
		q.dropOldestLocked() // OverflowDropOldest
	}
	if q.stopping {
		p.dropLocked(1) // Send may come after the peer is retired
		q.mu.Unlock()
		return false, nil
	}
	return true, nil
}

// drop counts n data messages lost.
func (p *peer) drop(n int) {
	p.q.mu.Lock()
	p.dropLocked(n)
	p.q.mu.Unlock()
}

// dropLocked counts n data messages lost, on the peer's counters or, once
// unregister has added those to the Transport's, on the Transport. q.mu
// must be held.
func (p *peer) dropLocked(n int) {
	if p.q.retired {
		p.t.lateDrops.Add(uint64(n))
	} else {
		p.dropped.Add(uint64(n))
	}
}

// writeDirectLocked tries to write the one queued frame, at most
// ioBufferSize bytes, to the socket right away: the writer is idle, so its
// buffer is flushed and nothing else writes. What the socket does not take
// at once is left for the writer, before anything else. q.mu must be held.
func (p *peer) writeDirectLocked() {
	q := &p.q
	frame := q.data[q.head:]
	n := p.direct.tryWrite(frame)
	if n == 0 {
		return
	}
	if n < len(frame) {
		q.ctrl = append(q.ctrl, frame[n:]...) // written first; ctrl is empty
		q.partial = len(q.ctrl)
	}
	q.data, q.head, q.queued = q.data[:0], 0, 0
	p.sent.Add(1)
	p.bytesSent.Add(uint64(n))
}

// tell queues telling the peer its distance, in hops, to topic's nearest
// subscriber through this side: a SUBSCRIBE, or an UNSUBSCRIBE for 0. It
// replaces what waits to be told of the topic.
func (p *peer) tell(hops int, topic string) { p.q.pushInterest(hops, topic) }

// writer drains the send queue into the connection, control frames first,
// batching what accumulates while it writes and flushing when the queue is
// empty. It pings when nothing has been written for an interval.
func (p *peer) writer() {
	w := bufio.NewWriterSize(p.conn, ioBufferSize)
	ping := time.NewTimer(p.t.cfg.heartbeatInterval)
	defer ping.Stop()
	var b batch // the spare buffers, then what was taken
	for {
		p.q.mu.Lock()
		p.waitLocked(ping)
		if p.q.stopping {
			p.q.mu.Unlock()
			p.finish(w)
			return
		}
		b = p.q.takeLocked(b)
		p.q.mu.Unlock()
		if err := p.write(w, b); err != nil {
			p.dropped.Add(uint64(b.n))
			p.stop(fmt.Errorf("tcp: write: %w", err), false)
			_ = p.conn.Close() // unblocks the reader
			return
		}
		p.sent.Add(uint64(b.n))
		p.bytesSent.Add(uint64(len(b.ctrl) + len(b.frames)))
		b.trim()
	}
}

// waitLocked waits until frames are queued or the peer stops. When the
// ping timer fires, it queues a PING if nothing has been written for an
// interval, and otherwise sets the timer to an interval after the latest
// write: the peer never waits much more than an interval for a frame,
// however the writes fall. The latest write is q.quiet, which the writer
// sets when it goes idle, after its last flush, and Send when it writes
// directly. q.mu must be held; it is released while waiting.
func (p *peer) waitLocked(ping *time.Timer) {
	q := &p.q
	interval := p.t.cfg.heartbeatInterval
	for q.emptyLocked() && !q.stopping {
		q.idleLocked()
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-q.quit:
		case <-ping.C:
			q.mu.Lock()
			since := time.Since(monoEpoch) - q.quiet
			q.mu.Unlock()
			if since >= interval {
				q.pushControl(kindPing, "")
				since = 0
			}
			ping.Reset(interval - since)
		}
		q.mu.Lock()
	}
}

// write writes a batch taken from the queue, control frames first, and
// flushes when nothing more waits.
func (p *peer) write(w *bufio.Writer, b batch) error {
	_ = p.conn.SetWriteDeadline(time.Now().Add(p.t.cfg.heartbeatTimeout))
	if by := p.closeBy.Load(); by != 0 {
		// stop set its deadline meanwhile, and this one replaced it.
		_ = p.conn.SetWriteDeadline(time.Unix(0, by))
	}
	if _, err := w.Write(b.ctrl); err != nil {
		return err
	}
	if _, err := w.Write(b.frames); err != nil {
		return err
	}
	if p.q.empty() {
		return w.Flush()
	}
	return nil
}

// finish sends, within the closeGrace stop gave, what a graceful stop
// leaves queued and a CLOSE frame with the reason, then hangs up its side.
func (p *peer) finish(w *bufio.Writer) {
	p.q.mu.Lock()
	reason := p.q.stopErr
	tail, n := p.q.takeLastLocked(p.q.graceful)
	p.q.mu.Unlock()
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
// the socket into a few recycled buffers meanwhile (see read), so that
// reading and handing over overlap.
func (p *peer) reader(h plexo.Host) error {
	p.host, _ = h.(plexo.BatchHost)
	tr := &timeoutReader{c: p.conn, d: p.t.cfg.heartbeatTimeout, closeBy: &p.closeBy, probeBy: &p.probeBy}
	fr := newFrameReader(tr, p.t.cfg.maxFrame, ioBufferSize)
	fr.quit = make(chan struct{})
	batches := make(chan []byte, readBuffers)
	var inflight atomic.Int32 // batches sent to the dispatcher and not yet handled
	var rerr error            // why reading ended, once batches is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		rerr = p.read(h, fr, batches, &inflight)
	}()
	err := p.dispatch(h, fr, batches, &inflight)
	if err == nil {
		err = rerr
		p.q.mu.Lock()
		stopping := p.q.stopping
		p.q.mu.Unlock()
		switch {
		case !errors.Is(err, os.ErrDeadlineExceeded) || stopping:
		case p.probeBy.Load() != 0:
			err = fmt.Errorf("%w: no answer to a probe within %v, after the peer connected again", ErrHeartbeatTimeout, p.probeTimeout())
		default:
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

// read reads batches of frames until reading fails, and sends them to the
// dispatcher. When no batch is in flight and a read brings a single
// frame, as in a request/reply, read handles the frame itself: a hand-off
// would wake the dispatcher, which costs a request/reply an OS context
// switch when the Host then hands the message on to a goroutine of its
// own. Under load batches hold many frames, and go to the dispatcher.
// After a lone frame that the Host handed to a goroutine it woke, read
// yields to that goroutine; after one whose handler ran on this goroutine
// ([plexo.WithInline]), which has replied already, it reads on.
func (p *peer) read(h plexo.Host, fr *frameReader, batches chan<- []byte, inflight *atomic.Int32) error {
	for {
		b, err := fr.nextBatch()
		if err != nil {
			return err
		}
		if inflight.Load() == 0 && singleFrame(b) {
			p.woke = false
			err := p.handleBatch(h, b)
			fr.reuse(b)
			if err != nil {
				return err
			}
			if p.woke {
				// Let the goroutine the Host handed the message to run
				// on this thread before the next read: otherwise the
				// read, which finds nothing and parks, would come first
				// and put a syscall between a request and its reply.
				runtime.Gosched()
			}
			continue
		}
		inflight.Add(1)
		select {
		case batches <- b:
		case <-fr.quit:
			return errReadStopped
		}
	}
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

// singleFrame reports whether a batch holds a single frame.
func singleFrame(batch []byte) bool {
	return len(batch) == 4+int(binary.BigEndian.Uint32(batch))
}

// handleBatch acts on each frame of a batch, in order, until one ends the
// connection. It hands the DATA frames that follow one another to the Host
// together, up to maxHandOver at a time, so that the Host's subscriptions
// see bursts (see [plexo.BatchHost]); each other frame first hands over
// the DATA frames before it. Either the dispatcher or the reading
// goroutine calls it, never both at once.
func (p *peer) handleBatch(h plexo.Host, batch []byte) error {
	p.bytesReceived.Add(uint64(len(batch)))
	for rest := batch; len(rest) > 0; {
		var kind byte
		var body []byte
		kind, body, rest = splitFrame(rest)
		if kind == kindData {
			if err := p.decodeData(h, body); err != nil {
				p.handOver(h) // the frames before the bad one
				return err
			}
			continue
		}
		p.handOver(h)
		if err := p.handle(h, kind, body); err != nil {
			return err
		}
	}
	p.handOver(h)
	return nil
}

// decodeData decodes a DATA frame's body into the messages to hand over,
// handing them over first if maxHandOver wait.
func (p *peer) decodeData(h plexo.Host, body []byte) error {
	e, err := envelope.Decode(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if len(p.msgs) == cap(p.msgs) {
		p.handOver(h)
	}
	p.msgs = p.msgs[:len(p.msgs)+1]
	m := &p.msgs[len(p.msgs)-1]
	if topic := p.intern(e.Topic); m.Topic != topic {
		m.Topic = topic
	}
	m.Payload, m.Origin, m.Sequence = e.Payload, e.Origin, e.Sequence
	return nil
}

// handOver hands the decoded messages to the Host: together if it takes
// batches, else one by one. Once the Transport is closing it delivers
// nothing more.
func (p *peer) handOver(h plexo.Host) {
	msgs := p.msgs
	if len(msgs) == 0 {
		return
	}
	if p.t.life.Err() == nil {
		p.received.Add(uint64(len(msgs)))
		if p.host != nil {
			if p.host.DeliverBatch(msgs) {
				p.woke = true
			}
		} else {
			for i := range msgs {
				h.Deliver(&msgs[i])
			}
			p.woke = true // as far as the read loop can tell
		}
	}
	for i := range msgs {
		msgs[i].Payload = nil // do not pin the read buffer
	}
	p.msgs = msgs[:0]
}

// handle acts on one frame.
func (p *peer) handle(h plexo.Host, kind byte, body []byte) error {
	switch kind {
	case kindData:
		err := p.decodeData(h, body)
		p.handOver(h)
		return err
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
		p.q.pushPong()
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

// probeOthers probes the other connections this Transport has with p's
// peer (see peer.probe).
func (t *Transport) probeOthers(p *peer) {
	var others []*peer
	t.mu.Lock()
	for o := range t.peers {
		if o != p && o.id == p.id {
			others = append(others, o)
		}
	}
	t.mu.Unlock()
	for _, o := range others {
		o.probe()
	}
}
