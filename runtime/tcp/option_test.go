package tcp_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// TestBadOptionsFailClosed passes every option a value that cannot work:
// Listen and Dial must refuse it with ErrConfig rather than fall back to a
// default.
func TestBadOptionsFailClosed(t *testing.T) {
	ca := newCA(t, "plexo test CA")
	cert := ca.issue(t, "server")
	verify := func([][]byte, [][]*x509.Certificate) error { return nil }
	both := []string{"listen", "dial"}
	for _, c := range []struct {
		name string
		opt  tcp.Option
		on   []string // where it fails
	}{
		{"nil TLS config", tcp.WithTLS(nil), both},
		{"TLS 1.0 allowed", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10}), both},
		{"TLS maximum below 1.2", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS11}), both},
		{"listener TLS without certificates", tcp.WithTLS(&tls.Config{}), []string{"listen"}},
		{"mutual TLS without ClientCAs", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert}), []string{"listen"}},
		{"optional client verification without ClientCAs", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven}), []string{"listen"}},
		{"any client certificate, unverified", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}), []string{"listen"}},
		{"dialer skipping verification", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}), []string{"dial"}},
		{"max frame below 64", tcp.WithMaxFrameSize(63), both},
		{"max frame negative", tcp.WithMaxFrameSize(-1), both},
		{"max frame above 1 GiB", tcp.WithMaxFrameSize(1<<30 + 1), both},
		{"send queue negative", tcp.WithSendQueueSize(-1), both},
		{"send queue above 1<<20", tcp.WithSendQueueSize(1<<20 + 1), both},
		{"unknown overflow", tcp.WithOverflow(plexo.Overflow(42)), both},
		{"negative overflow", tcp.WithOverflow(plexo.Overflow(-1)), both},
		{"negative heartbeat interval", tcp.WithHeartbeat(-time.Second, 0), both},
		{"heartbeat interval below 1ms", tcp.WithHeartbeat(time.Microsecond, time.Second), both},
		{"heartbeat timeout below two intervals", tcp.WithHeartbeat(time.Second, 1999*time.Millisecond), both},
		{"heartbeat timeout below the default interval", tcp.WithHeartbeat(0, time.Second), both},
		{"negative heartbeat timeout", tcp.WithHeartbeat(time.Second, -time.Second), both},
		{"heartbeat interval above 24h", tcp.WithHeartbeat(25*time.Hour, 0), both},
		{"heartbeat timeout that would overflow", tcp.WithHeartbeat(time.Second, math.MaxInt64), both},
		{"backoff that would overflow", tcp.WithBackoff(time.Second, math.MaxInt64), both},
		{"negative backoff min", tcp.WithBackoff(-time.Second, time.Second), both},
		{"negative backoff max", tcp.WithBackoff(time.Second, -time.Second), both},
		{"backoff max below min", tcp.WithBackoff(time.Second, time.Millisecond), both},
		{"negative handshake timeout", tcp.WithHandshakeTimeout(-time.Second), both},
		{"handshake timeout above 24h", tcp.WithHandshakeTimeout(25 * time.Hour), both},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, on := range both {
				var err error
				var tr *tcp.Transport
				if on == "listen" {
					tr, err = tcp.Listen(t.Context(), "127.0.0.1:0", c.opt)
				} else {
					tr, err = tcp.Dial(t.Context(), "127.0.0.1:1", c.opt)
				}
				if tr != nil {
					_ = tr.Close()
				}
				want := false
				for _, w := range c.on {
					want = want || w == on
				}
				if got := errors.Is(err, tcp.ErrConfig); got != want {
					t.Errorf("%s: err = %v, want ErrConfig: %v", on, err, want)
				}
			}
		})
	}

	// Values that work, at the edges of the ranges, and the zeros meaning
	// the defaults.
	for _, c := range []struct {
		name string
		opt  tcp.Option
	}{
		{"listener TLS with certificates", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}})},
		{"mutual TLS with ClientCAs", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert})},
		{"mutual TLS verified by a callback", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert, VerifyPeerCertificate: verify})},
		{"max frame 64", tcp.WithMaxFrameSize(64)},
		{"max frame 1 GiB", tcp.WithMaxFrameSize(1 << 30)},
		{"max frame default", tcp.WithMaxFrameSize(0)},
		{"send queue 1", tcp.WithSendQueueSize(1)},
		{"send queue default", tcp.WithSendQueueSize(0)},
		{"overflow block", tcp.WithOverflow(plexo.OverflowBlock)},
		{"tightest heartbeat", tcp.WithHeartbeat(time.Millisecond, 2*time.Millisecond)},
		{"heartbeat defaults", tcp.WithHeartbeat(0, 0)},
		{"longest heartbeat", tcp.WithHeartbeat(24*time.Hour, 72*time.Hour)},
		{"longest backoff and handshake", tcp.WithBackoff(24*time.Hour, 24*time.Hour)},
		{"optional client certificate, unverified", tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert})},
		{"backoff defaults", tcp.WithBackoff(0, 0)},
		{"backoff min only, above the default max", tcp.WithBackoff(time.Minute, 0)},
		{"backoff max only, below the default min", tcp.WithBackoff(0, time.Millisecond)},
		{"handshake default", tcp.WithHandshakeTimeout(0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := tcp.Listen(t.Context(), "127.0.0.1:0", c.opt)
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			_ = l.Close()
		})
	}
}

// TestLastOptionWins checks that a later option replaces a bad earlier one
// before validation.
func TestLastOptionWins(t *testing.T) {
	l, err := tcp.Listen(t.Context(), "127.0.0.1:0", tcp.WithMaxFrameSize(1), tcp.WithMaxFrameSize(1024))
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
}
