package frame

import (
	"encoding/binary"
	"errors"
)

// Wire constants.
const (
	Magic0, Magic1 = 'P', 'X'
	Version        = 1
	HeaderSize     = 42 // bytes before the body
	TagSize        = 16 // truncated HMAC-SHA256
)

// Frame kinds: DATA, and the control kinds (ControlBase + the agreement
// protocol's message kind).
const (
	KindData    uint8 = 0x01
	ControlBase uint8 = 0x10
)

// Flags.
const (
	FlagTagged uint8 = 0x01 // the frame ends in a TagSize-byte tag made with key KeyID
)

// Errors of the decoders. Frames they reject are dropped and counted.
var (
	ErrShort    = errors.New("frame: truncated")
	ErrMagic    = errors.New("frame: bad magic")
	ErrVersion  = errors.New("frame: unsupported version")
	ErrFragment = errors.New("frame: bad fragment fields")
	ErrTooLarge = errors.New("frame: message too large")
	ErrControl  = errors.New("frame: malformed control message")
	ErrData     = errors.New("frame: malformed data message")
	ErrNak      = errors.New("frame: malformed NAK")
)

// A Header is a frame's fixed header.
type Header struct {
	Kind   uint8
	Flags  uint8
	KeyID  uint8
	Domain uint32
	Sender uint64
	Topic  uint64
	Seq    uint64
	Index  uint16 // fragment index
	Count  uint16 // fragment count, >= 1
	Length uint32 // length of the whole message
}

// Put writes h into b[:HeaderSize].
func (h *Header) Put(b []byte) {
	_ = b[HeaderSize-1]
	b[0], b[1], b[2], b[3], b[4], b[5] = Magic0, Magic1, Version, h.Kind, h.Flags, h.KeyID
	binary.LittleEndian.PutUint32(b[6:], h.Domain)
	binary.LittleEndian.PutUint64(b[10:], h.Sender)
	binary.LittleEndian.PutUint64(b[18:], h.Topic)
	binary.LittleEndian.PutUint64(b[26:], h.Seq)
	binary.LittleEndian.PutUint16(b[34:], h.Index)
	binary.LittleEndian.PutUint16(b[36:], h.Count)
	binary.LittleEndian.PutUint32(b[38:], h.Length)
}

// Parse decodes the header of datagram b into h and returns the body and
// the tag (nil when the frame is untagged). It checks the fragment fields'
// consistency, not the tag.
func Parse(b []byte, h *Header) (body, tag []byte, err error) {
	if err := ParseHeader(b, h); err != nil {
		return nil, nil, err
	}
	body = b[HeaderSize:]
	if h.Flags&FlagTagged != 0 {
		if len(body) < TagSize {
			return nil, nil, ErrShort
		}
		tag = body[len(body)-TagSize:]
		body = body[:len(body)-TagSize]
	}
	if h.Count == 0 || h.Index >= h.Count {
		return nil, nil, ErrFragment
	}
	off, n := span(h.Length, h.Count, h.Index)
	if n < 0 || uint64(len(body)) != uint64(n) || off+uint64(n) > uint64(h.Length) {
		return nil, nil, ErrFragment
	}
	return body, tag, nil
}

// ParseHeader reads the header at the start of b into h, checking only
// the magic and the version: what follows it may be cut short, as in a
// datagram truncated by a small receive buffer. Nothing it returns is
// authenticated.
func ParseHeader(b []byte, h *Header) error {
	if len(b) < HeaderSize {
		return ErrShort
	}
	if b[0] != Magic0 || b[1] != Magic1 {
		return ErrMagic
	}
	if b[2] != Version {
		return ErrVersion
	}
	h.Kind, h.Flags, h.KeyID = b[3], b[4], b[5]
	h.Domain = binary.LittleEndian.Uint32(b[6:])
	h.Sender = binary.LittleEndian.Uint64(b[10:])
	h.Topic = binary.LittleEndian.Uint64(b[18:])
	h.Seq = binary.LittleEndian.Uint64(b[26:])
	h.Index = binary.LittleEndian.Uint16(b[34:])
	h.Count = binary.LittleEndian.Uint16(b[36:])
	h.Length = binary.LittleEndian.Uint32(b[38:])
	return nil
}

// chunk is the body size of every fragment but the last of a message of
// length l in count fragments.
func chunk(l uint32, count uint16) uint64 {
	return (uint64(l) + uint64(count) - 1) / uint64(count)
}

// span returns where fragment index of a message starts and how long it is
// (negative when the fields are inconsistent).
func span(l uint32, count, index uint16) (uint64, int64) {
	c := chunk(l, count)
	off := c * uint64(index)
	if off > uint64(l) || (c == 0 && l > 0) {
		return 0, -1
	}
	n := min(c, uint64(l)-off)
	if n == 0 && !(l == 0 && count == 1) {
		return 0, -1
	}
	return off, int64(n)
}
