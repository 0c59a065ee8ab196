//go:build unix

package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// loopbackPair returns both ends of a TCP connection on 127.0.0.1.
func loopbackPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func TestDirectWriterNeverWaits(t *testing.T) {
	client, server := loopbackPair(t)
	_ = client.SetWriteBuffer(4096)
	_ = server.SetReadBuffer(4096)
	d := newDirectWriter(client)
	if d == nil {
		t.Fatal("no direct writer for a TCP connection")
	}
	// Nobody reads: the socket buffers fill, and tryWrite must then take
	// part of a chunk, then nothing, without ever waiting.
	chunk := make([]byte, 64<<10)
	var sent []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			for j := range chunk {
				chunk[j] = byte(i + j)
			}
			n := d.tryWrite(chunk)
			sent = append(sent, chunk[:n]...)
			if n == 0 {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tryWrite waited for a full socket")
	}
	if len(sent) >= 1000*len(chunk) {
		t.Fatalf("the socket took %d bytes that nobody read", len(sent))
	}
	// The peer receives exactly the bytes reported written.
	got := make([]byte, len(sent))
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("the peer received other bytes than those reported written")
	}
	_ = server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after the reported bytes: read %d, %v; want nothing more", n, err)
	}
}

func TestDirectWriterOnlyForPlainTCP(t *testing.T) {
	client, _ := loopbackPair(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	for _, c := range []struct {
		name string
		conn net.Conn
		want bool
	}{
		{"tcp", client, true},
		{"tls", tls.Client(client, &tls.Config{InsecureSkipVerify: true}), false},
		{"pipe", a, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := newDirectWriter(c.conn) != nil; got != c.want {
				t.Fatalf("newDirectWriter made one: %v, want %v", got, c.want)
			}
		})
	}
}
