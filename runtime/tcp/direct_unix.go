//go:build unix

package tcp

import (
	"net"
	"syscall"
)

// A directWriter writes to a TCP socket without waiting: one non-blocking
// write(2), however much of the bytes it takes. It lets Send put a frame on
// the wire itself when the peer's writer is idle, which spares a round trip
// the hand-off to the writer goroutine, and never holds up the publisher:
// when the socket buffer is full the write takes nothing and the writer
// goroutine sends the frame as usual. It is not safe for concurrent use.
type directWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // rc's callback, made once so that writes do not allocate
	buf []byte
	n   int
}

// newDirectWriter returns a directWriter for conn, or nil when conn is not
// a plain TCP connection (TLS ones, for example).
func newDirectWriter(conn net.Conn) *directWriter {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	d := &directWriter{rc: rc}
	d.fn = d.write
	return d
}

func (d *directWriter) write(fd uintptr) bool {
	n, err := syscall.Write(int(fd), d.buf)
	if err != nil || n < 0 {
		n = 0 // EAGAIN and the like: the writer goroutine will see
	}
	d.n = n
	return true // never wait for the socket
}

// tryWrite writes what it can of b at once and reports how many bytes.
func (d *directWriter) tryWrite(b []byte) int {
	d.buf, d.n = b, 0
	if err := d.rc.Write(d.fn); err != nil {
		d.n = 0 // closed, or past the write deadline: leave it to the writer
	}
	d.buf = nil
	return d.n
}
