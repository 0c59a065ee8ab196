//go:build linux

package multicast

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the datagrams one read takes in.
const maxBatch = 32

// minSlot is the least room a datagram gets in a batch: the default MTU
// and a peer's somewhat larger one fit.
const minSlot = 2048

// mmsghdr is Linux's struct mmsghdr: Go lays it out as C does (the
// compiler pads it to the alignment of unix.Msghdr).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32 // bytes received
}

// A batchReader reads the datagrams waiting on a socket several per system
// call (recvmmsg), into slots of one buffer, and waits for more through
// the runtime's network poller. The buffer is cut into slots as large as
// the largest datagram this node sends (its MTU), at least minSlot. A
// datagram larger than its slot (a peer with a larger MTU) is truncated:
// the reader reports it and from then on reads one datagram at a time
// into the whole buffer, so that only that one is lost.
type batchReader struct {
	rc    syscall.RawConn
	buf   []byte
	slot  int
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	count int   // datagrams the last read took in
	err   error // the last read's error
	read  func(fd uintptr) bool
	// whole, set by a truncated datagram, makes the next read lay out
	// one slot over the whole buffer.
	whole bool
}

// newBatchReader returns a reader of conn's datagrams into buf, in slots
// of at least mtu bytes.
func newBatchReader(conn *net.UDPConn, buf []byte, mtu int) (*batchReader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	slot := (max(mtu, minSlot) + 63) &^ 63
	n := min(max(len(buf)/slot, 1), maxBatch)
	if n == 1 {
		slot = len(buf)
	}
	r := &batchReader{rc: rc, buf: buf, hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n)}
	r.layout(slot)
	r.read = r.recvmmsg
	return r, nil
}

// layout points the headers at slots of size bytes: as many as fit in
// the buffer, up to the headers there are.
func (r *batchReader) layout(size int) {
	r.slot = size
	n := min(len(r.buf)/size, len(r.hdrs))
	r.hdrs, r.iovs = r.hdrs[:n], r.iovs[:n]
	for i := range r.hdrs {
		r.iovs[i].Base = &r.buf[i*size]
		r.iovs[i].SetLen(size)
		r.hdrs[i].hdr = unix.Msghdr{Iov: &r.iovs[i]}
		r.hdrs[i].hdr.SetIovlen(1)
	}
}

// recvmmsg is the RawConn.Read callback: it reports false, to wait, when
// nothing is waiting.
func (r *batchReader) recvmmsg(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		r.count, r.err = int(n), nil
	case unix.EAGAIN:
		return false
	case unix.EINTR:
		r.count, r.err = 0, nil
	default:
		r.count, r.err = 0, errno
	}
	return true
}

// next waits for datagrams and reads those waiting, up to a batch; it
// returns how many it read. Its error is net.ErrClosed once the socket is
// closed.
func (r *batchReader) next() (int, error) {
	if r.whole {
		r.whole = false
		r.layout(len(r.buf))
	}
	for i := range r.hdrs {
		r.hdrs[i].n, r.hdrs[i].hdr.Flags = 0, 0
	}
	if err := r.rc.Read(r.read); err != nil {
		return 0, err
	}
	return r.count, r.err
}

// datagram returns datagram i of the last read, and whether it was
// truncated (b is then its start): then the following reads take one
// datagram at a time into the whole buffer. The bytes stay valid until the
// next read.
func (r *batchReader) datagram(i int) (b []byte, truncated bool) {
	h := &r.hdrs[i]
	b = r.buf[i*r.slot : i*r.slot+min(int(h.n), r.slot)]
	if h.hdr.Flags&unix.MSG_TRUNC != 0 {
		r.whole = r.slot < len(r.buf)
		return b, true
	}
	return b, false
}
