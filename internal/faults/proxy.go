package faults

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// chunkSize is the most a Proxy reads from one side at a time.
const chunkSize = 4 << 10

// queuedChunks is how many chunks a direction holds while it is stalled or
// slowed before the Proxy stops reading, and TCP's own flow control pushes
// back on the sender.
const queuedChunks = 64

// A Proxy is a fault-injecting TCP proxy on 127.0.0.1: it forwards every
// connection it accepts to a target on the loopback network and, on
// request, delays, slows or stalls what it forwards, or resets or
// half-closes the connections it holds. Its methods are safe for concurrent
// use; a setting applies to every connection, present and future.
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	latency   time.Duration
	bandwidth int           // bytes per second and direction; 0: unlimited
	stall     chan struct{} // non-nil while stalled; closed when the stall ends
	pairs     map[*pair]struct{}
	closed    bool
	forwarded uint64 // bytes written to either side

	wg sync.WaitGroup
}

// A pair is one proxied connection: the client's and the target's.
type pair struct {
	client, server *net.TCPConn
	halfClosed     bool // the client's read side was shut by HalfClose; guarded by Proxy.mu
}

// NewProxy listens on 127.0.0.1 (an unused port) and forwards to target,
// which must be a loopback host:port.
func NewProxy(target string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("faults: proxy: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("faults: proxy: target %q is not a loopback address", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: proxy: %w", err)
	}
	p := &Proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the address to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays each chunk by d in each direction (0: none).
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// SetBandwidth caps each direction of each connection at bytesPerSecond
// (0: unlimited).
func (p *Proxy) SetBandwidth(bytesPerSecond int) {
	p.mu.Lock()
	p.bandwidth = bytesPerSecond
	p.mu.Unlock()
}

// Stall stops forwarding in both directions, without closing anything,
// until Resume. The connections stay open; their peers see silence.
func (p *Proxy) Stall() {
	p.mu.Lock()
	if p.stall == nil {
		p.stall = make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume ends a Stall; what was held is forwarded.
func (p *Proxy) Resume() {
	p.mu.Lock()
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
	p.mu.Unlock()
}

// Reset closes every connection the Proxy holds with a TCP RST on both
// sides, discarding what it held.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		_ = pr.client.SetLinger(0)
		_ = pr.server.SetLinger(0)
		_ = pr.client.Close()
		_ = pr.server.Close()
	}
}

// HalfClose shuts the sending side towards each client (the client reads
// EOF) while the client can still write; what the target sends the client
// from then on is discarded.
func (p *Proxy) HalfClose() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.halfClosed = true
		_ = pr.client.CloseWrite()
	}
}

// Conns returns how many connections the Proxy holds.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// Forwarded returns the bytes written to either side so far.
func (p *Proxy) Forwarded() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded
}

// Close stops accepting, closes every connection and waits for the Proxy's
// goroutines. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	first := !p.closed
	p.closed = true
	for pr := range p.pairs {
		_ = pr.client.Close()
		_ = pr.server.Close()
	}
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
	p.mu.Unlock()
	var err error
	if first {
		err = p.ln.Close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		pr := &pair{client: c.(*net.TCPConn), server: s.(*net.TCPConn)}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			return
		}
		p.pairs[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(pr) })
	}
}

// serve forwards both directions of pr until both end, then closes it.
func (p *Proxy) serve(pr *pair) {
	var wg sync.WaitGroup
	wg.Go(func() { p.forward(pr, pr.client, pr.server, false) })
	wg.Go(func() { p.forward(pr, pr.server, pr.client, true) })
	wg.Wait()
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
	_ = pr.client.Close()
	_ = pr.server.Close()
}

// A chunk is bytes read from one side, due on the other at a time.
type chunk struct {
	b   []byte
	due time.Time
}

// forward copies src to dst through the faults: a reader goroutine queues
// chunks stamped with their due time, and this goroutine writes them.
func (p *Proxy) forward(pr *pair, src, dst *net.TCPConn, toClient bool) {
	q := make(chan chunk, queuedChunks)
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(q)
		for {
			b := make([]byte, chunkSize)
			n, err := src.Read(b)
			if n > 0 {
				p.mu.Lock()
				lat := p.latency
				p.mu.Unlock()
				q <- chunk{b[:n], time.Now().Add(lat)}
			}
			if err != nil {
				rerr = err
				return
			}
		}
	})
	broken := false
	for c := range q {
		if broken {
			continue // discard: the other side is gone or half-closed
		}
		time.Sleep(time.Until(c.due))
		p.mu.Lock()
		stall, bw, half := p.stall, p.bandwidth, toClient && pr.halfClosed
		p.mu.Unlock()
		if half {
			broken = true
			continue
		}
		if stall != nil {
			<-stall
		}
		if bw > 0 {
			time.Sleep(time.Duration(len(c.b)) * time.Second / time.Duration(bw))
		}
		n, err := dst.Write(c.b)
		p.mu.Lock()
		p.forwarded += uint64(n)
		half = toClient && pr.halfClosed
		p.mu.Unlock()
		if err != nil {
			broken = true
			if !half {
				_ = src.Close() // unblock the reader
				_ = dst.Close()
			}
		}
	}
	wg.Wait()
	if errors.Is(rerr, io.EOF) && !broken {
		_ = dst.CloseWrite() // pass the half-close on
		return
	}
	_ = dst.Close()
	_ = src.Close()
}
