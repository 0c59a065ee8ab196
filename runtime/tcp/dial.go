package tcp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// A dialAddr is the address a dialer dials, as [Transport.Addr] returns it
// when it does not resolve.
type dialAddr string

func (a dialAddr) Network() string { return "tcp" }
func (a dialAddr) String() string  { return string(a) }

// dialLogEvery is the least time between two log lines about a dialer's
// failed connection attempts.
const dialLogEvery = 10 * time.Second

// dialLoop connects a dialer to its peer, serves the connection, and
// reconnects when it drops or fails, until the Transport closes.
func (t *Transport) dialLoop() {
	defer t.wg.Done()
	b := backoff{min: t.cfg.backoffMin, max: t.cfg.backoffMax}
	for {
		conn, err := t.connect(t.life)
		if err == nil {
			var established bool
			if established, err = t.serve(conn); established {
				// A connection that was up and ended: not a failed attempt.
				b.reset()
				if err != nil {
					t.logEnd(conn, err)
				}
				err = nil
			}
		}
		if t.life.Err() != nil {
			return
		}
		if err != nil {
			t.attemptFailed(err)
		}
		select {
		case <-time.After(b.next()):
		case <-t.life.Done():
			return
		}
	}
}

// attemptFailed records and, rate-limited, logs a dialer's failed
// connection attempt.
func (t *Transport) attemptFailed(err error) {
	now := time.Now()
	t.mu.Lock()
	t.lastErr = err
	t.notifyLocked()
	t.failures++
	n := t.failures
	log := n == 1 || now.Sub(t.failedLog) >= dialLogEvery
	if log {
		t.failedLog = now
	}
	t.mu.Unlock()
	if !log {
		return
	}
	level := slog.LevelWarn
	if permanent(err) {
		level = slog.LevelError
	}
	t.logger().Log(context.Background(), level, "tcp: cannot connect, retrying in the background",
		"addr", t.addr, "failed_attempts", n, "error", err)
}

// logConnected logs a dialer's new connection, with the count of attempts
// that failed before it: at Info when it follows failed attempts or a
// dropped connection, at Debug when the first attempt succeeded at once.
func (t *Transport) logConnected(p *peer) {
	t.mu.Lock()
	n := t.failures
	again := t.connects > 1
	t.failures = 0
	t.failedLog = time.Time{}
	t.mu.Unlock()
	level := slog.LevelInfo
	if n == 0 && !again {
		level = slog.LevelDebug
	}
	t.logger().Log(context.Background(), level, "tcp: connected", "addr", t.addr, "remote", p.conn.RemoteAddr(),
		"peer", fmt.Sprintf("%016x", p.id), "failed_attempts", n)
}

// connect dials t.addr and completes the TLS handshake, within ctx.
func (t *Transport) connect(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.handshakeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if t.cfg.tls == nil {
		return conn, nil
	}
	cfg := t.cfg.tls
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(t.addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		if authFailure(err) {
			err = t.authFailed(err)
		}
		return nil, err
	}
	return tc, nil
}

// authFailure reports whether err, from a TLS handshake or the first read
// after it, is an authentication failure: a certificate this side could not
// verify, a TLS alert this side sent, or one the peer sent (which Go's
// crypto/tls reports as a [net.OpError] whose Op is "remote error").
func authFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		op       *net.OpError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &alert) || (errors.As(err, &op) && op.Op == "remote error")
}

// authFailed counts an authentication failure, and returns err wrapped in
// [ErrAuthentication].
func (t *Transport) authFailed(err error) error {
	if errors.Is(err, ErrAuthentication) {
		return err
	}
	t.authFailures.Add(1)
	return errorf("%w: %w", ErrAuthentication, err)
}

// serverTLSFailed handles a listener's failed TLS handshake: one that the
// network did not end (the client sent something that is not a TLS
// handshake, no certificate or one that does not verify) is an
// authentication failure. Then, so that the client reads the alert that
// crypto/tls has sent rather than a reset from closing with its data
// unread, it hangs up its side and drains what the client sends for a
// moment.
func (t *Transport) serverTLSFailed(tc *tls.Conn, err error) error {
	var op *net.OpError
	network := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &op) && op.Op != "remote error")
	if network && !authFailure(err) {
		return err
	}
	c := tc.NetConn()
	_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	return t.authFailed(err)
}

// permanent reports whether a connection attempt failed for a reason that
// retrying will not fix, such as an untrusted certificate.
func permanent(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		alert  tls.AlertError
		header tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &header) ||
		errors.Is(err, ErrHandshake) || errors.Is(err, ErrAuthentication)
}

// A backoff computes jittered exponential delays.
type backoff struct {
	min, max, cur time.Duration
}

// next returns the delay before the next attempt: a random one between
// half and all of the current delay, which then doubles up to max.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	half := int64(d / 2)
	return time.Duration(half + rand.Int64N(half+1))
}

// reset starts the delays over from min.
func (b *backoff) reset() { b.cur = 0 }
