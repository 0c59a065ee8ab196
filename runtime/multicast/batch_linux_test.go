//go:build linux

package multicast

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestBatchReader sends datagrams over unicast loopback to a socket and
// checks that one read takes in all that wait, in order; that a datagram
// larger than a slot is reported truncated; and that the reader then takes
// one datagram at a time, of any size.
func TestBatchReader(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	br, err := newBatchReader(rx, make([]byte, 65536), 1400)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(br.hdrs); got != maxBatch {
		t.Fatalf("%d datagrams per read, want %d", got, maxBatch)
	}
	datagram := func(i, size int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	send := func(i, size int) {
		t.Helper()
		if _, err := tx.Write(datagram(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	// read reads until want datagrams came, and returns their sizes per
	// read and whether each was truncated.
	read := func(want int) (batches []int, truncated []bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for got := 0; got < want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d datagrams read", got, want)
			}
			n, err := br.next()
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, n)
			for i := range n {
				b, trunc := br.datagram(i)
				truncated = append(truncated, trunc)
				if !trunc && !bytes.Equal(b, datagram(got, len(b))) {
					t.Fatalf("datagram %d: %d bytes of %v, want bytes %d", got, len(b), b[:1], got)
				}
				got++
			}
		}
		return batches, truncated
	}

	const waiting = 10
	for i := range waiting {
		send(i, 100+i)
	}
	time.Sleep(20 * time.Millisecond) // loopback delivers within the send; this is slack
	if batches, _ := read(waiting); len(batches) != 1 {
		t.Errorf("%d waiting datagrams took reads of %v, want one read", waiting, batches)
	}

	send(0, 3000) // larger than a 2 KiB slot
	send(1, 100)
	if _, truncated := read(2); !truncated[0] || truncated[1] {
		t.Fatalf("truncated: %v, want [true false]", truncated)
	}
	send(0, 60000)
	send(1, 3000)
	batches, truncated := read(2)
	if truncated[0] || truncated[1] {
		t.Fatalf("after a truncated datagram, truncated: %v, want none", truncated)
	}
	if len(batches) != 2 {
		t.Errorf("after a truncated datagram, reads of %v, want one datagram each", batches)
	}
}
