package tcp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame kinds. See PROTOCOL.md.
const (
	kindData        byte = 0x01 // body: a plexo.v1.Envelope
	kindSubscribe   byte = 0x02 // body: a topic name
	kindUnsubscribe byte = 0x03 // body: a topic name
	kindPing        byte = 0x04 // body: empty
	kindPong        byte = 0x05 // body: empty
	kindClose       byte = 0x06 // body: a reason, UTF-8 text
)

// frameHeaderSize is the length prefix plus the kind byte.
const frameHeaderSize = 5

// chunkSize bounds each step of reading a frame that does not fit in the
// read buffer, so that a peer announcing a large frame gets memory only as
// fast as it sends bytes.
const chunkSize = 64 << 10

func kindName(k byte) string {
	switch k {
	case kindData:
		return "DATA"
	case kindSubscribe:
		return "SUBSCRIBE"
	case kindUnsubscribe:
		return "UNSUBSCRIBE"
	case kindPing:
		return "PING"
	case kindPong:
		return "PONG"
	case kindClose:
		return "CLOSE"
	}
	return fmt.Sprintf("0x%02x", k)
}

// appendFrame appends a frame of the given kind and body.
func appendFrame(b []byte, kind byte, body []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(body)))
	b = append(b, kind)
	return append(b, body...)
}

// appendStringFrame is appendFrame for a string body.
func appendStringFrame(b []byte, kind byte, body string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(body)))
	b = append(b, kind)
	return append(b, body...)
}

// A frameReader reads frames from a buffered reader. Frames that fit in
// the buffer are returned in place, without copying; larger ones are read
// into a buffer of the reader's own, grown as their bytes arrive.
type frameReader struct {
	r       *bufio.Reader
	max     int    // largest length field accepted (kind byte + body)
	pending int    // bytes of the last frame still to discard from r
	big     []byte // reused for frames larger than r's buffer
}

func newFrameReader(r *bufio.Reader, max int) *frameReader {
	return &frameReader{r: r, max: max}
}

// next returns the next frame's kind and body. The body is valid until the
// following call. At a clean end of stream it returns io.EOF; a stream that
// ends inside a frame gives io.ErrUnexpectedEOF; an empty or oversized
// length gives an error wrapping [ErrProtocol] or [ErrFrameTooLarge] before
// anything of the body is read.
func (f *frameReader) next() (kind byte, body []byte, err error) {
	if f.pending > 0 {
		if _, err := f.r.Discard(f.pending); err != nil {
			return 0, nil, err
		}
		f.pending = 0
	}
	hdr, err := f.r.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	switch {
	case n == 0:
		return 0, nil, fmt.Errorf("%w: empty frame", ErrProtocol)
	case uint64(n) > uint64(f.max):
		return 0, nil, &FrameSizeError{Size: int64(n), Limit: f.max}
	}
	total := 4 + int(n)
	if total <= f.r.Size() {
		b, err := f.r.Peek(total)
		if err != nil {
			return 0, nil, unexpected(err)
		}
		f.pending = total
		return b[4], b[frameHeaderSize:], nil
	}
	if _, err := f.r.Discard(4); err != nil {
		return 0, nil, unexpected(err)
	}
	kind, err = f.r.ReadByte()
	if err != nil {
		return 0, nil, unexpected(err)
	}
	want := int(n) - 1
	f.big = f.big[:0]
	for len(f.big) < want {
		step := min(want-len(f.big), chunkSize)
		if cap(f.big)-len(f.big) < step {
			f.big = append(f.big[:cap(f.big)], make([]byte, step)...)[:len(f.big)]
		}
		m, err := io.ReadFull(f.r, f.big[len(f.big):len(f.big)+step])
		f.big = f.big[:len(f.big)+m]
		if err != nil {
			return 0, nil, unexpected(err)
		}
	}
	body = f.big
	if cap(f.big) > 4*chunkSize {
		f.big = nil // do not pin a large frame's memory
	}
	return kind, body, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
