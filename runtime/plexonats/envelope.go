package plexonats

import (
	"errors"
	"strconv"
	"strings"
	"sync"

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
	o, s, found := strings.Cut(v[0], ":")
	if !found {
		return 0, 0, false, errMalformedEnvelope
	}
	origin, err = strconv.ParseUint(o, 16, 64)
	if err != nil {
		return 0, 0, false, errMalformedEnvelope
	}
	seq, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, 0, false, errMalformedEnvelope
	}
	return origin, seq, true, nil
}

// outMsg is a reusable NATS message with the plexo header, so that sending
// allocates only the header's text besides what nats.go itself does.
type outMsg struct {
	m      nats.Msg
	origin uint64
	prefix int    // the length of the origin's text and its colon in buf; 0 before the first use
	buf    []byte // the header value, built here then copied into a string
	id     []string
}

var outPool = sync.Pool{New: func() any {
	o := &outMsg{buf: make([]byte, 0, 48), id: make([]string, 1)}
	o.m.Header = nats.Header{HeaderID: o.id}
	return o
}}

func getOutMsg(subject string, origin, seq uint64, data []byte) *outMsg {
	o := outPool.Get().(*outMsg)
	if o.origin != origin || o.prefix == 0 {
		o.buf = append(strconv.AppendUint(o.buf[:0], origin, 16), ':')
		o.origin, o.prefix = origin, len(o.buf)
	}
	o.buf = strconv.AppendUint(o.buf[:o.prefix], seq, 10)
	o.id[0] = string(o.buf)
	o.m.Subject = subject
	o.m.Data = data
	return o
}

func putOutMsg(o *outMsg) {
	o.m.Data = nil
	o.id[0] = ""
	outPool.Put(o)
}
