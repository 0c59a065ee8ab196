package tcp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/plexo-go/plexo/runtime/tcp"
)

// A testCA issues certificates in memory.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for 127.0.0.1 usable by servers and clients.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	ca, other := newCA(t, "plexo test CA"), newCA(t, "another CA")
	server, client := ca.issue(t, "server"), ca.issue(t, "client")
	tlsServer := &tls.Config{Certificates: []tls.Certificate{server}, MinVersion: tls.VersionTLS12}
	mtlsServer := &tls.Config{Certificates: []tls.Certificate{server}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert}
	for _, c := range []struct {
		name    string
		server  *tls.Config
		client  *tls.Config
		dialErr bool // WaitConnected fails at once
		refused bool // the connection is refused after Dial
	}{
		{"tls", tlsServer, &tls.Config{RootCAs: ca.pool}, false, false},
		{"tls with the wrong CA", tlsServer, &tls.Config{RootCAs: other.pool}, true, false},
		{"mtls", mtlsServer, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{client}}, false, false},
		{"mtls without a client certificate", mtlsServer, &tls.Config{RootCAs: ca.pool}, false, true},
		{"mtls with a certificate of another CA", mtlsServer, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{other.issue(t, "stranger")}}, false, true},
		{"plain client to a tls server", tlsServer, nil, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := newPlexus(t), newPlexus(t)
			l := listen(t, a, tcp.WithTLS(c.server))
			opts := slices.Clone(fast)
			if c.client != nil {
				opts = append(opts, tcp.WithTLS(c.client))
			}
			d, err := tcp.Dial(timeout(t), l.Addr().String(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Attach(d); err != nil {
				t.Fatal(err)
			}
			if c.dialErr {
				var unknown x509.UnknownAuthorityError
				if err := d.WaitConnected(timeout(t)); !errors.As(err, &unknown) {
					t.Fatalf("WaitConnected = %v, want an unknown authority error", err)
				}
				return
			}
			if c.refused {
				eventually(t, "the listener refuses the client", func() bool {
					return l.Stats().LastError != nil && d.Stats().LastError != nil
				})
				if s := l.Stats(); s.Connects != 0 {
					t.Fatalf("listener accepted %d peers", s.Connects)
				}
				return
			}
			c := subscribeInt64(t, b)
			waitForInterest(t, a, int64Topic.Name())
			publish(t, a, 7)
			if got := c.WaitFor(t, 1); got[0] != 7 {
				t.Fatalf("received %v", got)
			}
		})
	}
}
