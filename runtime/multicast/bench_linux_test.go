//go:build linux

package multicast_test

import "golang.org/x/sys/unix"

// multicastAllOff makes socket fd receive only the groups it joined, as
// the transport's sockets do.
func multicastAllOff(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
}
