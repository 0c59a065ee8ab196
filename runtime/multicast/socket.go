//go:build linux

package multicast

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// layout maps group indices to addresses.
type layout struct {
	base    netip.Addr
	size    uint32
	control uint32 // index of the control group, or size when outside the range
}

func newLayout(c *config) (layout, error) {
	if c.groups.Addr().Is4() == c.ipv6 || c.control.Is4() == c.ipv6 {
		version := 4
		if c.ipv6 {
			version = 6
		}
		return layout{}, errorf("multicast: new: group range %v and control group %v must both be IPv%d: %w",
			c.groups, c.control, version, ErrConfig)
	}
	bits := c.groups.Addr().BitLen() - c.groups.Bits()
	bits = min(bits, maxRangeAddrBits)
	if bits < 1 {
		return layout{}, errorf("multicast: new: group range %v too small: %w", c.groups, ErrConfig)
	}
	l := layout{base: c.groups.Addr(), size: 1 << bits}
	l.control = l.size
	for i := range l.size {
		if l.addr(i) == c.control {
			l.control = i
			break
		}
		if i > 1<<16 {
			break // large ranges: the control group is assumed outside the first 64K
		}
	}
	return l, nil
}

// addr returns the address of group index i.
func (l layout) addr(i uint32) netip.Addr {
	b := l.base.As16()
	carry := uint64(i)
	for k := 15; k >= 0 && carry > 0; k-- {
		s := uint64(b[k]) + carry&0xff
		b[k] = byte(s)
		carry = carry>>8 + s>>8
	}
	a := netip.AddrFrom16(b)
	if l.base.Is4() {
		return a.Unmap()
	}
	return a
}

// listenGroup opens a UDP socket bound to group:port that receives only
// that group (IP_MULTICAST_ALL off), shares its port with other sockets and
// processes (SO_REUSEADDR, SO_REUSEPORT), and has joined group on ifi. It
// returns the socket and the receive buffer the kernel granted.
func listenGroup(ctx context.Context, c *config, ifi *net.Interface, group netip.Addr, port uint16) (*net.UDPConn, int, error) {
	v6 := group.Is6()
	var sockErr error
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		err := rc.Control(func(fd uintptr) {
			s := int(fd)
			// The constants come from x/sys/unix (already linked in by
			// x/net): SO_REUSEPORT differs between architectures.
			if sockErr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); sockErr != nil {
				return
			}
			if sockErr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); sockErr != nil {
				return
			}
			if v6 {
				sockErr = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
			} else {
				sockErr = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
			}
		})
		if err != nil {
			return err
		}
		return sockErr
	}}
	network, bind := "udp4", netip.AddrPortFrom(group, port).String()
	if v6 {
		network = "udp6"
		// Bind the group with the interface as zone, as the kernel wants
		// for scoped multicast addresses.
		if ifi != nil {
			bind = netip.AddrPortFrom(group.WithZone(ifi.Name), port).String()
		}
	}
	pc, err := lc.ListenPacket(ctx, network, bind)
	if err != nil {
		return nil, 0, fmt.Errorf("listen %s: %w", bind, err)
	}
	conn := pc.(*net.UDPConn)
	ga := &net.UDPAddr{IP: group.AsSlice()}
	if v6 {
		err = ipv6.NewPacketConn(conn).JoinGroup(ifi, ga)
	} else {
		err = ipv4.NewPacketConn(conn).JoinGroup(ifi, ga)
	}
	if err != nil {
		conn.Close()
		return nil, 0, fmt.Errorf("join %v: %w", group, err)
	}
	_ = conn.SetReadBuffer(c.rcvbuf)
	return conn, grantedReadBuffer(conn), nil
}

func grantedReadBuffer(conn *net.UDPConn) int {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return n
}

// dialSender opens the socket everything is sent from, with the interface,
// TTL and loopback options.
func dialSender(ctx context.Context, c *config, ifi *net.Interface) (*net.UDPConn, error) {
	network, bind := "udp4", "0.0.0.0:0"
	if c.ipv6 {
		network, bind = "udp6", "[::]:0"
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, network, bind)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", bind, err)
	}
	conn := pc.(*net.UDPConn)
	if c.ipv6 {
		p := ipv6.NewPacketConn(conn)
		if ifi != nil {
			err = p.SetMulticastInterface(ifi)
		}
		if err == nil {
			err = p.SetMulticastHopLimit(c.ttl)
		}
		if err == nil {
			err = p.SetMulticastLoopback(!c.noLoopback)
		}
	} else {
		p := ipv4.NewPacketConn(conn)
		if ifi != nil {
			err = p.SetMulticastInterface(ifi)
		}
		if err == nil {
			err = p.SetMulticastTTL(c.ttl)
		}
		if err == nil {
			err = p.SetMulticastLoopback(!c.noLoopback)
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sender options: %w", err)
	}
	return conn, nil
}
