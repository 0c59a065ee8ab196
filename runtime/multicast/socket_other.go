//go:build !linux

package multicast

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

var errUnsupported = errors.New("multicast: only Linux is supported")

type layout struct {
	base    netip.Addr
	size    uint32
	control uint32
}

func newLayout(*config) (layout, error) {
	return layout{}, errorf("multicast: new: %w", errUnsupported)
}

func (l layout) addr(uint32) netip.Addr { return netip.Addr{} }

func listenGroup(context.Context, *config, *net.Interface, netip.Addr, uint16) (*net.UDPConn, int, error) {
	return nil, 0, errUnsupported
}

func dialSender(context.Context, *config, *net.Interface) (*net.UDPConn, error) {
	return nil, errUnsupported
}
