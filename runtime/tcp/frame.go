package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Frame kinds. See PROTOCOL.md.
const (
	kindData        byte = 0x01 // body: a plexo.v1.Envelope
	kindSubscribe   byte = 0x02 // body: hops u8, then a topic name
	kindUnsubscribe byte = 0x03 // body: a topic name
	kindPing        byte = 0x04 // body: empty
	kindPong        byte = 0x05 // body: empty
	kindClose       byte = 0x06 // body: a reason, UTF-8 text
)

// frameHeaderSize is the length prefix plus the kind byte.
const frameHeaderSize = 5

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

// appendSubscribeFrame appends a SUBSCRIBE frame: the nearest subscriber of
// topic through this side is hops Plexus hops from the receiver.
func appendSubscribeFrame(b []byte, hops int, topic string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(2+len(topic)))
	b = append(b, kindSubscribe, byte(hops))
	return append(b, topic...)
}

// appendStringFrame appends a frame of the given kind and string body.
func appendStringFrame(b []byte, kind byte, body string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(body)))
	b = append(b, kind)
	return append(b, body...)
}

// readBuffers bounds the buffers a connection's reader fills while its
// dispatcher is still handing earlier frames to the Host.
const readBuffers = 4

// errReadStopped reports that the reader was told to stop.
var errReadStopped = errors.New("tcp: reader stopped")

// A frameReader reads frames from r in batches: each read fills a buffer,
// and the complete frames at its start are returned together, in place,
// while the bytes of an incomplete frame move to the next buffer. The
// caller hands each batch back with release once done with it, possibly on
// another goroutine, so that reading the socket and handling frames
// overlap without allocating: at most readBuffers buffers circulate.
//
// A frame larger than a buffer grows a buffer of its own, at most doubling
// it per step and only as its bytes arrive, so that a peer announcing a
// huge frame gets memory only as fast as it sends bytes.
type frameReader struct {
	r    io.Reader
	max  int           // largest length field accepted (kind byte + body)
	size int           // size of the circulating buffers
	buf  []byte        // bytes read and not yet returned, from a frame boundary
	free chan []byte   // released buffers; nil stands for one dropped
	kept []byte        // a buffer the reading goroutine handed back itself (see reuse)
	made int           // buffers allocated or dropped so far, up to readBuffers
	quit chan struct{} // closed to stop a reader waiting for a buffer
	err  error         // why reading stopped, returned after the frames before it
}

func newFrameReader(r io.Reader, max, size int) *frameReader {
	return &frameReader{r: r, max: max, size: size, free: make(chan []byte, readBuffers)}
}

// nextBatch returns one or more complete frames, back to back, valid until
// they are released. At a clean end of stream it returns io.EOF; a stream
// that ends inside a frame gives io.ErrUnexpectedEOF; an empty or
// oversized length gives an error wrapping [ErrProtocol] or
// [ErrFrameTooLarge] before anything of that frame's body is read.
func (f *frameReader) nextBatch() ([]byte, error) {
	for {
		end, bad := completeFrames(f.buf, f.max)
		if end > 0 {
			next, err := f.get(len(f.buf) - end)
			if err != nil {
				return nil, err
			}
			batch := f.buf[:end]
			f.buf = append(next, f.buf[end:]...)
			return batch, nil
		}
		switch {
		case bad != nil:
			f.err = bad
			return nil, bad
		case f.err != nil:
			if errors.Is(f.err, io.EOF) && len(f.buf) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, f.err
		}
		if f.buf == nil {
			b, err := f.get(0)
			if err != nil {
				return nil, err
			}
			f.buf = b
		}
		if len(f.buf) == cap(f.buf) {
			// One incomplete frame fills the buffer: grow it towards the
			// frame's size.
			need := 4
			if len(f.buf) >= 4 {
				need += int(binary.BigEndian.Uint32(f.buf))
			}
			grown := make([]byte, len(f.buf), min(need, max(2*cap(f.buf), f.size)))
			copy(grown, f.buf)
			f.buf = grown
		}
		n, err := f.r.Read(f.buf[len(f.buf):cap(f.buf)])
		f.buf = f.buf[:len(f.buf)+n]
		if err != nil {
			f.err = err
		}
	}
}

// get returns an empty buffer with room for at least n bytes: the one
// reuse kept, a released one, a new one while fewer than readBuffers
// exist, or else the next one released.
func (f *frameReader) get(n int) ([]byte, error) {
	var b []byte
	if f.kept != nil {
		b, f.kept = f.kept, nil
	} else {
		select {
		case b = <-f.free:
		default:
			if f.made < readBuffers {
				f.made++
				break
			}
			select {
			case b = <-f.free:
			case <-f.quit:
				return nil, errReadStopped
			}
		}
	}
	if cap(b) < max(n, f.size) {
		b = make([]byte, 0, max(n, f.size))
	}
	return b[:0], nil
}

// release hands back a batch returned by nextBatch. It is safe to call
// from another goroutine than the one reading.
func (f *frameReader) release(batch []byte) {
	if cap(batch) > 4*f.size {
		batch = nil // do not pin a large frame's memory
	}
	f.free <- batch
}

// reuse is release for the goroutine that calls nextBatch, when it handled
// the batch itself: the buffer goes straight to the next get, without the
// two channel operations of release, which a request/reply pays on every
// message.
func (f *frameReader) reuse(batch []byte) {
	if f.kept != nil || cap(batch) > 4*f.size {
		f.release(batch)
		return
	}
	f.kept = batch[:0]
}

// completeFrames returns the length of the complete frames at the start of
// b and, if the frame after them has an invalid length, why.
func completeFrames(b []byte, limit int) (end int, bad error) {
	for len(b)-end >= 4 {
		n := binary.BigEndian.Uint32(b[end:])
		switch {
		case n == 0:
			return end, fmt.Errorf("%w: empty frame", ErrProtocol)
		case uint64(n) > uint64(limit):
			return end, &FrameSizeError{Size: int64(n), Limit: limit}
		}
		if len(b)-end-4 < int(n) {
			break
		}
		end += 4 + int(n)
	}
	return end, nil
}

// splitFrame returns the kind and body of the complete frame at the start
// of b, and the bytes after it.
func splitFrame(b []byte) (kind byte, body, rest []byte) {
	total := 4 + int(binary.BigEndian.Uint32(b))
	return b[4], b[frameHeaderSize:total], b[total:]
}

// maxCloseReason bounds the reason a CLOSE frame carries, within the
// peer's maximum frame size too.
const maxCloseReason = 1024

// maxQuoted bounds how much of a bad frame an error message quotes.
const maxQuoted = 64

// truncateUTF8 returns s cut to at most n bytes, at a rune boundary when s
// is valid UTF-8.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// A timeoutReader keeps a read deadline ahead of each read, so that a
// connection silent for longer than the heartbeat timeout fails. Moving a
// deadline costs a runtime timer update, so it moves at most every eighth
// of the timeout, and lies up to that much further out: silence is
// detected after between d and 9/8 d. Once stop is set it fails every
// read: whoever sets it and then a past deadline is sure that a read in
// progress or to come returns promptly. Once *closeBy is set, the deadline
// stays there: whoever stores it and then sets that deadline is sure that
// no renewal outlives it.
//
// While *probeBy is set (see peer.probe), the deadline is no later than
// it, and the first bytes read clear it.
type timeoutReader struct {
	c       net.Conn
	d       time.Duration
	renew   time.Duration // since monoEpoch: when the deadline moves next
	stop    atomic.Bool
	closeBy *atomic.Int64 // UnixNano, or 0
	probeBy *atomic.Int64 // UnixNano, or 0
}

func (r *timeoutReader) Read(b []byte) (int, error) {
	if now := time.Since(monoEpoch); now >= r.renew && r.closeBy.Load() == 0 {
		if err := r.c.SetReadDeadline(time.Now().Add(r.d + r.d/8)); err != nil {
			return 0, err
		}
		r.renew = now + r.d/8
		if by := r.closeBy.Load(); by != 0 {
			// finish set its deadline meanwhile, and this one replaced it.
			_ = r.c.SetReadDeadline(time.Unix(0, by))
		} else if by := r.probeBy.Load(); by != 0 {
			_ = r.c.SetReadDeadline(time.Unix(0, by))
		}
	}
	if r.stop.Load() {
		return 0, errReadStopped
	}
	n, err := r.c.Read(b)
	if n > 0 && r.probeBy.Load() != 0 {
		// The peer answered: the next read sets the usual deadline.
		r.probeBy.Store(0)
		r.renew = 0
	}
	return n, err
}
