package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/interest"
)

// A Transport carries a Plexus's messages over TCP. [Listen] makes one that
// accepts any number of peers; [Dial] makes one connected to a single peer,
// reconnecting when the connection drops. Attach it to one Plexus with
// [plexo.Plexus.Attach]; the Plexus closes it.
//
// Each peer has its own send queue and writer goroutine, so a slow peer
// never holds up the others (see [WithOverflow]). Delivery is at most once:
// messages queued for, or in flight to, a peer whose connection drops are
// lost and counted in [Transport.Stats].
type Transport struct {
	// Set by Listen or Dial, then only read.
	cfg  config
	ln   net.Listener // listeners only
	addr string       // dialers only: the dialed address

	// The lifecycle, set by newTransport; the channels close once.
	life    context.Context // cancelled by Close
	cancel  context.CancelFunc
	started chan struct{} // closed by Start
	done    chan struct{} // closed when Close has finished
	wg      sync.WaitGroup

	// reportMu serialises the interest reports to the Host, so that they
	// arrive in the order of the transitions they report. It is taken
	// before mu, and never by Advertise, which the Plexus calls under its
	// own lock.
	reportMu sync.Mutex

	// mu guards the fields below, up to the next blank line, and each
	// peer's wants, wantBytes, told and removed. A peer's q.mu is taken
	// after it.
	mu       sync.Mutex
	host     plexo.Host
	closed   bool
	adv      map[string]int              // the distances the Plexus advertised, per topic (>0)
	counts   map[string]*interest.Counts // the peers' reported distances, per topic, counted by distance
	peers    map[*peer]struct{}
	retired  Counters // counters of peers gone
	lastErr  error
	connects uint64
	changed  chan struct{} // closed and replaced when peers, lastErr or closed change

	// Dialers only, guarded by mu: failed attempts since the latest
	// connection, and when the latest of them was logged.
	failures  int
	failedLog time.Time

	// tableMu guards table: for each topic, the peers that want it. It is
	// taken after mu. The slices are replaced, never modified, so Send may
	// use them after unlocking.
	tableMu sync.RWMutex
	table   map[string][]*peer

	// Atomic counters.
	disconnects  atomic.Uint64
	lateDrops    atomic.Uint64 // drops by Sends that reached a peer after unregister
	authFailures atomic.Uint64
}

func newTransport(cfg config) *Transport {
	life, cancel := context.WithCancel(context.Background())
	return &Transport{
		cfg:     cfg,
		life:    life,
		cancel:  cancel,
		started: make(chan struct{}),
		done:    make(chan struct{}),
		adv:     make(map[string]int),
		counts:  make(map[string]*interest.Counts),
		peers:   make(map[*peer]struct{}),
		table:   make(map[string][]*peer),
		changed: make(chan struct{}),
	}
}

// Listen returns a Transport accepting peers on addr, such as
// "127.0.0.1:0" (see [net.Listen]). Options that cannot work make it return
// an error wrapping [ErrConfig] (see [Option]). It listens at once, so
// [Transport.Addr] is known and peers can connect; they are served once the
// Transport is attached to a Plexus.
func Listen(ctx context.Context, addr string, opts ...Option) (*Transport, error) {
	cfg := newConfig(opts)
	if err := cfg.validate(true); err != nil {
		return nil, errorf("tcp: listen %s: %w", addr, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen %s: %w", addr, err)
	}
	t := newTransport(cfg)
	t.ln = ln
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

// Dial returns a Transport that connects to the peer listening at addr
// (host:port). It returns at once, without touching the network: ctx only
// bounds Dial itself, and an error means a malformed address, a done ctx,
// or options that cannot work ([ErrConfig], see [Option]).
// Once the Transport is attached to a Plexus, it connects in the background,
// retrying with backoff (see [WithBackoff]) for as long as nobody listens,
// and reconnects by itself whenever the connection drops, until it is
// closed; on each new connection it restores its interest.
//
// Failed attempts are logged through the Plexus's logger, naming the
// address: the first one at Warn (Error for a refusal that retrying is
// unlikely to fix, such as an untrusted certificate), then at most one line
// every ten seconds, with the count of failed attempts; a connection that
// follows failed attempts or a drop is logged at Info (one made at the first
// attempt, at Debug). [Transport.WaitConnected] waits for the
// connection where a program needs it, and [plexo.Plexus.WaitForInterest]
// for a remote subscriber where a first message must not be lost.
func Dial(ctx context.Context, addr string, opts ...Option) (*Transport, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("tcp: dial %s: %w", addr, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tcp: dial %s: %w", addr, err)
	}
	cfg := newConfig(opts)
	if err := cfg.validate(false); err != nil {
		return nil, errorf("tcp: dial %s: %w", addr, err)
	}
	t := newTransport(cfg)
	t.addr = addr
	return t, nil
}

// WaitConnected waits until t has a handshaken peer: for a dialer, until
// its connection is up, which happens only once t is attached to a Plexus;
// for a listener, until at least one peer has connected. It returns nil then
// (also when a peer is connected already), [plexo.ErrClosed] once t is
// closed, at once the error of a connection attempt that retrying is
// unlikely to fix (such as an untrusted certificate, or the listener's
// refusal of this side's, both [ErrAuthentication]: t keeps retrying, its
// backoff growing to the maximum, in case a side is fixed), and otherwise, when ctx is done, ctx's error
// joined with why the latest attempt failed.
//
// A connected peer may not yet know what this side subscribes to, nor this
// side what the peer does: to wait for a remote subscriber before a first
// publish, use [plexo.Plexus.WaitForInterest].
func (t *Transport) WaitConnected(ctx context.Context) error {
	for {
		t.mu.Lock()
		closed, up, err, changed := t.closed, len(t.peers) > 0, t.lastErr, t.changed
		t.mu.Unlock()
		switch {
		case up:
			return nil
		case closed:
			return fmt.Errorf("tcp: wait connected: %w", plexo.ErrClosed)
		case t.ln == nil && err != nil && permanent(err):
			return errorf("tcp: wait connected %s: %w", t.Addr(), err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if err != nil {
				return errorf("tcp: wait connected %s: %w (last attempt: %w)", t.Addr(), ctx.Err(), err)
			}
			return fmt.Errorf("tcp: wait connected %s: %w", t.Addr(), ctx.Err())
		}
	}
}

// notifyLocked wakes the callers of WaitConnected. t.mu must be held.
func (t *Transport) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Addr returns the address a listener listens on, or the address a dialer
// dials.
func (t *Transport) Addr() net.Addr {
	if t.ln != nil {
		return t.ln.Addr()
	}
	a, err := net.ResolveTCPAddr("tcp", t.addr)
	if err != nil {
		return dialAddr(t.addr)
	}
	return a
}

// Start implements [plexo.Transport]: it begins the plexo handshake with
// the peers connected so far and those to come.
func (t *Transport) Start(h plexo.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return fmt.Errorf("tcp: start: %w", plexo.ErrClosed)
	case t.host != nil:
		return fmt.Errorf("tcp: start: %w", plexo.ErrAttached)
	}
	t.host = h
	close(t.started)
	if t.ln == nil {
		t.wg.Add(1)
		go t.dialLoop()
	}
	return nil
}

// Advertise implements [plexo.Transport]: it tells each peer its distance
// to the topic's nearest subscriber through this side, counting what the
// Plexus advertised and, one hop further, what the other peers of this
// Transport report.
func (t *Transport) Advertise(topic string, hops int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if hops = interest.Clamp(hops); hops > 0 {
		t.adv[topic] = hops
	} else {
		delete(t.adv, topic)
	}
	t.syncTopicLocked(topic)
}

// Send implements [plexo.Transport]: it queues msg for every peer that
// wants its topic, except msg.Source, and returns without waiting for the
// network unless the overflow policy is [plexo.OverflowBlock] and a queue
// is full. A message larger than a peer's maximum frame size is not sent
// and reported as [plexo.ErrMessageTooLarge].
func (t *Transport) Send(ctx context.Context, msg *plexo.Message) error {
	t.tableMu.RLock()
	peers := t.table[msg.Topic]
	t.tableMu.RUnlock()
	var first error
	for _, p := range peers {
		if msg.Source == any(p) {
			continue
		}
		if err := p.enqueue(ctx, msg); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close implements [plexo.Transport]: it stops accepting or redialling,
// tells each peer it is closing (sending what is still queued, within about
// a second), closes the connections and waits for every goroutine. It is
// safe to call more than once and concurrently.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closed = true
	t.notifyLocked()
	peers := make([]*peer, 0, len(t.peers))
	for p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()

	t.cancel()
	var err error
	if t.ln != nil {
		if e := t.ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
			err = fmt.Errorf("tcp: close: %w", e)
		}
	}
	for _, p := range peers {
		p.stop(errTransportClosed, true)
	}
	t.wg.Wait()
	close(t.done)
	return err
}

var errTransportClosed = fmt.Errorf("tcp: transport closed: %w", plexo.ErrClosed)

// logger returns the Host's logger, or the default one before Start.
func (t *Transport) logger() *slog.Logger {
	t.mu.Lock()
	h := t.host
	t.mu.Unlock()
	if h != nil {
		return h.Logger()
	}
	return slog.Default()
}

func (t *Transport) setLastErr(err error) {
	t.mu.Lock()
	t.lastErr = err
	t.notifyLocked()
	t.mu.Unlock()
}

// accept serves a listener's incoming connections.
func (t *Transport) accept() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.life.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.logger().Warn("tcp: accept failed", "addr", t.ln.Addr(), "error", err)
			select {
			case <-time.After(delay):
				continue
			case <-t.life.Done():
				return
			}
		}
		delay = 0
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			if t.cfg.tls != nil {
				c = tls.Server(c, t.cfg.tls)
			}
			if _, err := t.serve(c); err != nil {
				t.logEnd(c, err)
			}
		}()
	}
}

// logEnd logs why a connection ended, unless the Transport is closing.
func (t *Transport) logEnd(c net.Conn, err error) {
	t.setLastErr(err)
	if t.life.Err() != nil {
		return
	}
	level := slog.LevelWarn
	var closed *PeerClosedError
	if errors.As(err, &closed) {
		level = slog.LevelDebug // an orderly close
	}
	t.logger().Log(context.Background(), level, "tcp: connection ended", "remote", c.RemoteAddr(), "error", err)
}

// serve runs the plexo handshake on conn once the Transport is started,
// then serves it as a peer until it ends. It closes conn, and reports
// whether the handshake succeeded and why the connection ended (nil when
// the Transport closed it).
func (t *Transport) serve(conn net.Conn) (established bool, err error) {
	defer conn.Close()
	// Until the handshake is over, closing the Transport unblocks it.
	unblock := context.AfterFunc(t.life, func() { _ = conn.SetDeadline(time.Now()) })
	_ = conn.SetDeadline(time.Now().Add(t.cfg.handshakeTimeout))
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.HandshakeContext(t.life); err != nil {
			unblock()
			if t.life.Err() != nil {
				return false, nil
			}
			return false, t.serverTLSFailed(tc, err)
		}
	}
	select {
	case <-t.started:
	case <-t.life.Done():
		unblock()
		return false, nil
	}
	t.mu.Lock()
	h := t.host
	t.mu.Unlock()
	hl, err := t.handshake(conn, h.ID())
	if !unblock() || t.life.Err() != nil {
		return false, nil
	}
	if err != nil {
		if errors.Is(err, ErrHandshake) {
			refuse(conn, err, hl.refusalLimit())
		}
		if _, ok := conn.(*tls.Conn); ok && authFailure(err) {
			// Under TLS 1.3 a dialer learns here that the listener
			// refused its certificate.
			err = t.authFailed(err)
		}
		return false, err
	}
	_ = conn.SetDeadline(time.Time{})

	p := newPeer(t, conn, hl)
	if !t.register(p) {
		return true, nil
	}
	t.probeOthers(p)
	if t.ln == nil {
		t.logConnected(p)
	}
	err = p.run(h)
	t.unregister(p)
	if t.life.Err() != nil {
		err = nil
	}
	return true, err
}

// handshake exchanges hellos on conn.
func (t *Transport) handshake(conn net.Conn, id uint64) (hello, error) {
	out := appendHello(make([]byte, 0, helloSize), hello{version: protocolVersion, peerID: id, maxFrame: uint32(t.cfg.maxFrame)})
	werr := make(chan error, 1)
	go func() { _, err := conn.Write(out); werr <- err }()
	var in [helloSize]byte
	_, rerr := io.ReadFull(conn, in[:])
	if rerr != nil {
		_ = conn.SetDeadline(time.Now()) // unblock the write
	}
	if err := <-werr; err != nil && rerr == nil {
		return hello{}, fmt.Errorf("tcp: handshake: %w", err)
	}
	if rerr != nil {
		return hello{}, fmt.Errorf("tcp: handshake: %w", rerr)
	}
	h, err := decodeHello(in[:])
	if err != nil {
		return h, err
	}
	if h.peerID == id {
		return h, fmt.Errorf("%w: connected to itself", ErrHandshake)
	}
	return h, nil
}

// refuse tells a peer why its handshake failed, in case it can read it,
// in a CLOSE frame whose reason is cut to limit bytes (nothing is written
// when limit is negative), and lingers briefly so that closing does not
// reset the connection before the peer reads the reason. The reason leaves
// out the text of [ErrHandshake], which a CLOSE in place of the first
// frame says already, to keep the rest within the peer's limit.
func refuse(conn net.Conn, err error, limit int) {
	if limit < 0 {
		return
	}
	reason := strings.TrimPrefix(err.Error(), ErrHandshake.Error()+": ")
	_ = conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if _, werr := conn.Write(appendStringFrame(nil, kindClose, truncateUTF8(reason, limit))); werr != nil {
		return
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
}

// register adds a handshaken peer and tells it what this side wants. It
// reports false when the Transport is closed.
func (t *Transport) register(p *peer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.peers[p] = struct{}{}
	t.connects++
	t.notifyLocked()
	for topic := range t.adv {
		t.syncPeerLocked(p, topic)
	}
	for topic := range t.counts {
		if t.adv[topic] == 0 {
			t.syncPeerLocked(p, topic)
		}
	}
	return true
}

// unregister removes a peer whose connection ended and withdraws its
// interest.
func (t *Transport) unregister(p *peer) {
	t.reportMu.Lock()
	defer t.reportMu.Unlock()
	t.mu.Lock()
	delete(t.peers, p)
	p.removed = true
	t.notifyLocked()
	var (
		changed []string
		reports []int
	)
	for topic, hops := range p.wants {
		t.setTableLocked(topic, p, false)
		if report, ok := t.countLocked(topic, hops, 0); ok {
			changed = append(changed, topic)
			reports = append(reports, report)
		}
		t.syncTopicLocked(topic)
	}
	// Sends that loaded the table before p left it may still drop messages
	// on p; from now on they count on t.lateDrops.
	p.q.mu.Lock()
	p.q.retired = true
	c := p.counters()
	p.q.mu.Unlock()
	t.retired.add(c)
	h := t.host
	t.mu.Unlock()
	t.disconnects.Add(1)
	for i, topic := range changed {
		h.SetInterest(topic, reports[i])
	}
}
