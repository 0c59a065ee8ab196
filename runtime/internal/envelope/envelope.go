// Package envelope encodes and decodes plexo's wire envelope
// (schema/plexo/v1/envelope.proto) by hand with protowire, so that the
// transports can append it into reused buffers without allocating and read
// it without copying the payload.
package envelope

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of plexo.v1.Envelope. They never change.
const (
	fieldTopic    protowire.Number = 1
	fieldPayload  protowire.Number = 2
	fieldOrigin   protowire.Number = 3
	fieldSequence protowire.Number = 4
)

// ErrMalformed reports bytes that are not a valid envelope.
var ErrMalformed = errors.New("envelope: malformed")

// An Envelope is a decoded envelope. Topic and Payload alias the decoded
// bytes: they are valid only as long as those are.
type Envelope struct {
	Topic    []byte
	Payload  []byte
	Origin   uint64
	Sequence uint64
}

// Size returns the encoded size of an envelope with these fields.
func Size(topic string, payload []byte, origin, sequence uint64) int {
	n := protowire.SizeTag(fieldTopic) + protowire.SizeBytes(len(topic))
	if len(payload) > 0 {
		n += protowire.SizeTag(fieldPayload) + protowire.SizeBytes(len(payload))
	}
	if origin != 0 {
		n += protowire.SizeTag(fieldOrigin) + protowire.SizeFixed64()
	}
	if sequence != 0 {
		n += protowire.SizeTag(fieldSequence) + protowire.SizeVarint(sequence)
	}
	return n
}

// Append appends the envelope to b, in field order and with proto3's
// omission of zero values (the topic is always written), exactly as
// proto.Marshal of a plexo.v1.Envelope would, and returns the extended
// buffer. It allocates only when b lacks capacity.
func Append(b []byte, topic string, payload []byte, origin, sequence uint64) []byte {
	b = protowire.AppendTag(b, fieldTopic, protowire.BytesType)
	b = protowire.AppendString(b, topic)
	if len(payload) > 0 {
		b = protowire.AppendTag(b, fieldPayload, protowire.BytesType)
		b = protowire.AppendBytes(b, payload)
	}
	if origin != 0 {
		b = protowire.AppendTag(b, fieldOrigin, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, origin)
	}
	if sequence != 0 {
		b = protowire.AppendTag(b, fieldSequence, protowire.VarintType)
		b = protowire.AppendVarint(b, sequence)
	}
	return b
}

// Decode parses an envelope without copying: the Topic and Payload of the
// result alias b. Unknown fields are skipped, as protobuf requires; a known
// field with the wrong wire type, truncated input, or an empty topic is an
// error wrapping [ErrMalformed]. Repeated fields keep the last value.
func Decode(b []byte) (Envelope, error) {
	if e, ok := decodeCanonical(b); ok {
		return e, nil
	}
	return decodeGeneral(b)
}

// decodeCanonical parses, without the general loop, an envelope encoded as
// Append encodes it: fields in order, a topic shorter than 128 bytes, no
// unknown or repeated fields. It reports false for anything else, which
// decodeGeneral then parses (or rejects); where it reports true, the
// result is the one decodeGeneral would give.
func decodeCanonical(b []byte) (e Envelope, ok bool) {
	if len(b) < 2 || b[0] != byte(fieldTopic)<<3|byte(protowire.BytesType) {
		return e, false
	}
	n := int(b[1])
	if n == 0 || n >= 0x80 || len(b)-2 < n {
		return e, false
	}
	e.Topic, b = b[2:2+n], b[2+n:]
	if len(b) > 0 && b[0] == byte(fieldPayload)<<3|byte(protowire.BytesType) {
		v, n := protowire.ConsumeBytes(b[1:])
		if n < 0 {
			return e, false
		}
		e.Payload, b = v, b[1+n:]
	}
	if len(b) > 0 && b[0] == byte(fieldOrigin)<<3|byte(protowire.Fixed64Type) {
		v, n := protowire.ConsumeFixed64(b[1:])
		if n < 0 {
			return e, false
		}
		e.Origin, b = v, b[1+n:]
	}
	if len(b) > 0 && b[0] == byte(fieldSequence)<<3|byte(protowire.VarintType) {
		v, n := protowire.ConsumeVarint(b[1:])
		if n < 0 {
			return e, false
		}
		e.Sequence, b = v, b[1+n:]
	}
	return e, len(b) == 0
}

// decodeGeneral is Decode for any valid encoding.
func decodeGeneral(b []byte) (Envelope, error) {
	var e Envelope
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Envelope{}, fmt.Errorf("%w: tag: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldTopic && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Envelope{}, fmt.Errorf("%w: topic: %w", ErrMalformed, protowire.ParseError(n))
			}
			e.Topic, b = v, b[n:]
		case num == fieldPayload && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return Envelope{}, fmt.Errorf("%w: payload: %w", ErrMalformed, protowire.ParseError(n))
			}
			e.Payload, b = v, b[n:]
		case num == fieldOrigin && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return Envelope{}, fmt.Errorf("%w: origin: %w", ErrMalformed, protowire.ParseError(n))
			}
			e.Origin, b = v, b[n:]
		case num == fieldSequence && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return Envelope{}, fmt.Errorf("%w: sequence: %w", ErrMalformed, protowire.ParseError(n))
			}
			e.Sequence, b = v, b[n:]
		case num >= fieldTopic && num <= fieldSequence:
			return Envelope{}, fmt.Errorf("%w: field %d has wire type %d", ErrMalformed, num, typ)
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return Envelope{}, fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if len(e.Topic) == 0 {
		return Envelope{}, fmt.Errorf("%w: no topic", ErrMalformed)
	}
	return e, nil
}
