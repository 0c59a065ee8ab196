//go:build !unix

package tcp

import "net"

// A directWriter would write to the socket without waiting; on this
// platform Send always leaves the writing to the writer goroutine.
type directWriter struct{}

func newDirectWriter(net.Conn) *directWriter { return nil }

func (*directWriter) tryWrite([]byte) int { return 0 }
