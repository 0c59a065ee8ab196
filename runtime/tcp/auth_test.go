package tcp_test

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// TestMutualTLSRefusalSurfaces dials a TLS 1.3 listener requiring client
// certificates without one. TLS 1.3 completes the client's handshake
// before the listener checks the certificate, so the dialer learns of the
// refusal only when it first reads. The refusal must surface as one: an
// ErrAuthentication that WaitConnected returns at once, a count in
// Stats.AuthFailures on both sides, an Error log line, and a backoff that
// grows instead of redialling at the minimum for ever.
func TestMutualTLSRefusalSurfaces(t *testing.T) {
	ca := newCA(t, "plexo test CA")
	server := &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "server")},
		ClientCAs:    ca.pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13,
	}
	for _, c := range []struct {
		name   string
		client *tls.Config
	}{
		{"no client certificate", &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS13}},
		{"a certificate of another CA", &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS13,
			Certificates: []tls.Certificate{newCA(t, "another CA").issue(t, "stranger")}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newPlexus(t)
			rec := new(recorder)
			b := newPlexus(t, plexo.WithLogger(slog.New(rec)))
			l := listen(t, a, tcp.WithTLS(server))
			const backoffMax = 200 * time.Millisecond
			opts := append(slices.Clone(fast), tcp.WithTLS(c.client), tcp.WithBackoff(10*time.Millisecond, backoffMax))
			d, err := tcp.Dial(timeout(t), l.Addr().String(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := b.Attach(d); err != nil {
				t.Fatal(err)
			}
			err = d.WaitConnected(timeout(t))
			if !errors.Is(err, tcp.ErrAuthentication) {
				t.Fatalf("WaitConnected = %v, want ErrAuthentication", err)
			}
			// Returned on the refusal, well before WaitConnected's 5 s:
			// a loaded machine makes handshakes slow, not that slow.
			if errors.Is(err, timeout(t).Err()) || time.Since(start) > 3*time.Second {
				t.Fatalf("WaitConnected took %v: %v", time.Since(start), err)
			}
			// The attempt is recorded, which wakes WaitConnected, before
			// it is logged.
			eventually(t, "the refusal is logged", func() bool {
				return len(rec.find("tcp: cannot connect, retrying in the background")) > 0
			})
			if logged := rec.find("tcp: cannot connect, retrying in the background"); logged[0]["level"].Any() != slog.LevelError {
				t.Fatalf("logged %v, want an Error line", logged)
			}
			// The dialer keeps trying. Delays growing to 200 ms (jittered
			// to 100..200 ms) allow about ten attempts a second;
			// redialling at the minimum would make a hundred. A loaded
			// machine makes attempts slower, never more: count them over
			// a second at least, against the time that really passed.
			eventually(t, "three authentication failures", func() bool { return d.Stats().AuthFailures >= 3 })
			time.Sleep(time.Second - time.Since(start))
			n := d.Stats().AuthFailures
			elapsed := time.Since(start)
			if most := uint64(20 * elapsed.Seconds()); n > most {
				t.Fatalf("%d authentication failures in %v, want at most %d (20 a second)", n, elapsed, most)
			}
			eventually(t, "the listener counts the refusals", func() bool {
				return l.Stats().AuthFailures >= 3
			})
			if s := l.Stats(); s.Connects != 0 || !errors.Is(s.LastError, tcp.ErrAuthentication) {
				t.Fatalf("listener: %d connects, last error %v", s.Connects, s.LastError)
			}
		})
	}
}

// TestNetworkFailureIsNotAnAuthenticationFailure dials an address nobody
// listens on: no authentication failure is counted, and WaitConnected
// waits.
func TestNetworkFailureIsNotAnAuthenticationFailure(t *testing.T) {
	b := newPlexus(t)
	d, err := tcp.Dial(timeout(t), freeAddr(t), fast...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an attempt fails", func() bool { return d.Stats().LastError != nil })
	if s := d.Stats(); s.AuthFailures != 0 || errors.Is(s.LastError, tcp.ErrAuthentication) {
		t.Fatalf("%d authentication failures, last error %v", s.AuthFailures, s.LastError)
	}
}
