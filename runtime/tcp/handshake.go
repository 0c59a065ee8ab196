package tcp

import (
	"encoding/binary"
	"fmt"
)

// The hello each side sends first, 20 bytes, big-endian:
//
//	magic "PLXO" | version u16 | flags u16 (zero) | peer id u64 | max frame u32
const (
	helloSize       = 20
	protocolVersion = 2
	helloMagic      = "PLXO"
)

// minFrameSize is the smallest maximum frame size a peer may announce.
const minFrameSize = 64

// A hello is the decoded handshake of one side.
type hello struct {
	version  uint16
	peerID   uint64
	maxFrame uint32
	plexo    bool // the magic and the version are this side's, so maxFrame means what it says
}

// refusalLimit returns the longest reason a CLOSE frame refusing the
// handshake h may carry: the peer must accept the frame, one byte of kind
// and the reason, and the reason is at most maxCloseReason bytes. A peer
// whose hello is not of this protocol version is assumed to accept the
// smallest maximum any plexo peer may announce. The result is negative
// when the peer accepts no frame at all.
func (h hello) refusalLimit() int {
	peerMax := minFrameSize
	if h.plexo {
		peerMax = int(h.maxFrame)
	}
	return min(maxCloseReason, peerMax-1)
}

func appendHello(b []byte, h hello) []byte {
	b = append(b, helloMagic...)
	b = binary.BigEndian.AppendUint16(b, h.version)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, h.peerID)
	return binary.BigEndian.AppendUint32(b, h.maxFrame)
}

// decodeHello parses and checks a peer's hello. Errors wrap [ErrHandshake],
// and [ErrVersion] too when only the version is wrong; with them it returns
// the hello as far as it could be decoded, so that the refusal can respect
// the peer's maximum frame size.
func decodeHello(b []byte) (hello, error) {
	if len(b) != helloSize {
		return hello{}, fmt.Errorf("%w: hello is %d bytes, want %d", ErrHandshake, len(b), helloSize)
	}
	if string(b[:4]) != helloMagic {
		return hello{}, fmt.Errorf("%w: not a plexo peer (magic %q)", ErrHandshake, b[:4])
	}
	h := hello{
		version:  binary.BigEndian.Uint16(b[4:]),
		peerID:   binary.BigEndian.Uint64(b[8:]),
		maxFrame: binary.BigEndian.Uint32(b[16:]),
	}
	if h.version != protocolVersion {
		return hello{}, errorf("%w: %w: peer speaks version %d, this side %d", ErrHandshake, ErrVersion, h.version, protocolVersion)
	}
	h.plexo = true
	if h.maxFrame < minFrameSize {
		return h, fmt.Errorf("%w: peer's maximum frame size %d is below %d", ErrHandshake, h.maxFrame, minFrameSize)
	}
	return h, nil
}
