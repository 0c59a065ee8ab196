//go:build !linux

package multicast

import "net"

// A batchReader reads one datagram at a time where recvmmsg is missing
// (the transport runs on Linux only; this keeps the package building).
type batchReader struct {
	conn *net.UDPConn
	buf  []byte
	n    int
}

func newBatchReader(conn *net.UDPConn, buf []byte, _ int) (*batchReader, error) {
	return &batchReader{conn: conn, buf: buf}, nil
}

func (r *batchReader) next() (int, error) {
	n, _, err := r.conn.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return 0, err
	}
	r.n = n
	return 1, nil
}

func (r *batchReader) datagram(int) ([]byte, bool) { return r.buf[:r.n], false }
