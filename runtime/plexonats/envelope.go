package plexonats

import (
	"errors"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
)

// NATS header names of the plexo envelope; see the package documentation.
const (
	HeaderOrigin   = "Plexo-Origin"
	HeaderSequence = "Plexo-Sequence"
)

var errMalformedEnvelope = errors.New("plexonats: malformed plexo headers")

// parseEnvelope reads the origin and sequence from a message's headers. It
// reports ok false, with no error, for a message without plexo headers.
func parseEnvelope(h nats.Header) (origin, seq uint64, ok bool, err error) {
	o, hasOrigin := h[HeaderOrigin]
	s, hasSeq := h[HeaderSequence]
	switch {
	case !hasOrigin && !hasSeq:
		return 0, 0, false, nil
	case len(o) != 1 || len(s) != 1:
		return 0, 0, false, errMalformedEnvelope
	}
	origin, err = strconv.ParseUint(o[0], 16, 64)
	if err != nil {
		return 0, 0, false, errMalformedEnvelope
	}
	seq, err = strconv.ParseUint(s[0], 10, 64)
	if err != nil {
		return 0, 0, false, errMalformedEnvelope
	}
	return origin, seq, true, nil
}

// outMsg is a reusable NATS message with plexo headers, so that sending
// allocates only what nats.go itself does.
type outMsg struct {
	m          nats.Msg
	origin     uint64
	originText []string
	seqText    []string
}

var outPool = sync.Pool{New: func() any {
	o := &outMsg{originText: make([]string, 1), seqText: make([]string, 1)}
	o.originText[0] = "0"
	o.m.Header = nats.Header{HeaderOrigin: o.originText, HeaderSequence: o.seqText}
	return o
}}

func getOutMsg(subject string, origin, seq uint64, data []byte) *outMsg {
	o := outPool.Get().(*outMsg)
	if o.origin != origin {
		o.origin = origin
		o.originText[0] = strconv.FormatUint(origin, 16)
	}
	o.seqText[0] = strconv.FormatUint(seq, 10)
	o.m.Subject = subject
	o.m.Data = data
	return o
}

func putOutMsg(o *outMsg) {
	o.m.Data = nil
	outPool.Put(o)
}
