package plexonats

import (
	"errors"
	"strconv"
	"sync"
	"unsafe"

	"github.com/nats-io/nats.go"
)

// HeaderID is the NATS header of the plexo envelope: the publishing Plexus's
// ID in lowercase hexadecimal, a colon, and the message's sequence number
// from that origin in decimal, as in "1f2e3d4c5b6a7988:42"; see the package
// documentation.
const HeaderID = "Plexo-Id"

// HeaderOrigin is the NATS header naming the sender of an interest message,
// in hexadecimal; see the package documentation.
const HeaderOrigin = "Plexo-Origin"

var errMalformedEnvelope = errors.New("plexonats: malformed plexo headers")

// parseEnvelope reads the origin and sequence from a message's headers. It
// reports ok false, with no error, for a message without plexo headers.
func parseEnvelope(h nats.Header) (origin, seq uint64, ok bool, err error) {
	v, has := h[HeaderID]
	switch {
	case !has:
		return 0, 0, false, nil
	case len(v) != 1:
		return 0, 0, false, errMalformedEnvelope
	}
	origin, seq, ok = parseID(v[0])
	if !ok {
		return 0, 0, false, errMalformedEnvelope
	}
	return origin, seq, true, nil
}

// parseID parses a Plexo-Id value, "<origin hex>:<sequence decimal>", in
// one pass, accepting exactly what strconv.ParseUint(origin, 16, 64) and
// strconv.ParseUint(sequence, 10, 64) accept (FuzzParseID checks it), but
// without their generality: it runs for every message received.
func parseID(s string) (origin, seq uint64, ok bool) {
	i := 0
	for ; i < len(s) && s[i] != ':'; i++ {
		d := unhex(s[i])
		if d > 15 || origin>>60 != 0 {
			return 0, 0, false
		}
		origin = origin<<4 | uint64(d)
	}
	if i == 0 || i == len(s) || i == len(s)-1 {
		return 0, 0, false // no origin, no colon, or no sequence
	}
	for i++; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 || seq > (1<<64-1)/10 {
			return 0, 0, false
		}
		next := seq*10 + uint64(d)
		if next < seq*10 {
			return 0, 0, false
		}
		seq = next
	}
	return origin, seq, true
}

// unhex returns the value of a hexadecimal digit, or 255.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// outMsg is a reusable NATS message with the plexo header, precomputed per
// origin: only the sequence's digits change from one message to the next,
// and sending allocates nothing besides what nats.go itself does.
type outMsg struct {
	m      nats.Msg
	origin uint64
	prefix int    // the length of the origin's text and its colon in buf; 0 before the first use
	buf    []byte // the header value; never grows past its capacity (maxIDLen)
	id     []string
}

// maxIDLen is the longest Plexo-Id value: 16 hexadecimal digits, a colon
// and 20 decimal ones.
const maxIDLen = 16 + 1 + 20

var outPool = sync.Pool{New: func() any {
	o := &outMsg{buf: make([]byte, 0, maxIDLen), id: make([]string, 1)}
	o.m.Header = nats.Header{HeaderID: o.id}
	return o
}}

// getOutMsg returns a pooled message for one PublishMsg call; putOutMsg
// takes it back. The header value is a string over the message's own
// buffer, rewritten in place for the next message: nats.go's PublishMsg
// copies the header into a buffer of its own (Msg.headerBytes) before it
// returns and keeps no reference to the Msg or its Header, and nothing else
// sees the string, which is cleared before the buffer is reused.
func getOutMsg(subject string, origin, seq uint64, data []byte) *outMsg {
	o := outPool.Get().(*outMsg)
	if o.origin != origin || o.prefix == 0 {
		o.buf = append(strconv.AppendUint(o.buf[:0], origin, 16), ':')
		o.origin, o.prefix = origin, len(o.buf)
	}
	o.buf = strconv.AppendUint(o.buf[:o.prefix], seq, 10)
	o.id[0] = unsafe.String(unsafe.SliceData(o.buf), len(o.buf))
	o.m.Subject = subject
	o.m.Data = data
	return o
}

func putOutMsg(o *outMsg) {
	o.m.Data = nil
	o.id[0] = ""
	outPool.Put(o)
}
