package frame

import (
	"encoding/binary"

	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

const (
	controlFixed = 8 + 8 + 8 + 4 + 4 + 12 + 12 + 8 + 4 + 4 + 8 + 4 + 4 // timestamp .. counts
	topicFixed   = 8 + 1 + 2
	entrySize    = 4 + 4 + 8 + 4 + 8
)

// AppendControl appends the body of a control message: a timestamp (unix
// nanoseconds, for the replay window), the fixed fields, the topics (each
// with its hop count) and the entries. The frame kind is ControlBase + m.Kind.
func AppendControl(b []byte, ts int64, m *agree.Msg) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, uint64(ts))
	b = le.AppendUint64(b, m.From)
	b = le.AppendUint64(b, m.To)
	b = le.AppendUint32(b, m.Group)
	b = le.AppendUint32(b, m.Gen)
	b = le.AppendUint32(b, m.Ballot.Round)
	b = le.AppendUint64(b, m.Ballot.Node)
	b = le.AppendUint32(b, m.AccBallot.Round)
	b = le.AppendUint64(b, m.AccBallot.Node)
	b = le.AppendUint64(b, uint64(m.Value))
	b = le.AppendUint32(b, m.ViewSize)
	b = le.AppendUint32(b, m.NextGen)
	b = le.AppendUint64(b, m.Digest)
	b = le.AppendUint32(b, uint32(len(m.Topics)))
	b = le.AppendUint32(b, uint32(len(m.Entries)))
	for _, t := range m.Topics {
		b = le.AppendUint64(b, uint64(t.ID))
		b = append(b, t.Hops)
		b = le.AppendUint16(b, uint16(len(t.Name)))
		b = append(b, t.Name...)
	}
	for _, e := range m.Entries {
		b = le.AppendUint32(b, e.Group)
		b = le.AppendUint32(b, e.Gen)
		b = le.AppendUint64(b, uint64(e.Topic))
		b = le.AppendUint32(b, e.Ballot.Round)
		b = le.AppendUint64(b, e.Ballot.Node)
	}
	return b
}

// ParseControl decodes a control message body of the given frame kind into
// m and returns its timestamp.
func ParseControl(kind uint8, b []byte, m *agree.Msg) (int64, error) {
	k := agree.Kind(kind - ControlBase)
	if kind < ControlBase || !k.Valid() || len(b) < controlFixed {
		return 0, ErrControl
	}
	le := binary.LittleEndian
	ts := int64(le.Uint64(b))
	*m = agree.Msg{
		Kind:      k,
		From:      le.Uint64(b[8:]),
		To:        le.Uint64(b[16:]),
		Group:     le.Uint32(b[24:]),
		Gen:       le.Uint32(b[28:]),
		Ballot:    agree.Ballot{Round: le.Uint32(b[32:]), Node: le.Uint64(b[36:])},
		AccBallot: agree.Ballot{Round: le.Uint32(b[44:]), Node: le.Uint64(b[48:])},
		Value:     agree.TopicID(le.Uint64(b[56:])),
		ViewSize:  le.Uint32(b[64:]),
		NextGen:   le.Uint32(b[68:]),
		Digest:    le.Uint64(b[72:]),
	}
	nt, ne := uint64(le.Uint32(b[80:])), uint64(le.Uint32(b[84:]))
	rest := b[controlFixed:]
	if nt*topicFixed+ne*entrySize > uint64(len(rest)) {
		return 0, ErrControl
	}
	if nt > 0 {
		m.Topics = make([]agree.Topic, 0, nt)
	}
	for range nt {
		if len(rest) < topicFixed {
			return 0, ErrControl
		}
		t := agree.Topic{ID: agree.TopicID(le.Uint64(rest)), Hops: rest[8]}
		n := int(le.Uint16(rest[9:]))
		rest = rest[topicFixed:]
		if len(rest) < n {
			return 0, ErrControl
		}
		t.Name = string(rest[:n])
		rest = rest[n:]
		m.Topics = append(m.Topics, t)
	}
	if uint64(len(rest)) != ne*entrySize {
		return 0, ErrControl
	}
	if ne > 0 {
		m.Entries = make([]agree.Entry, ne)
	}
	for i := range m.Entries {
		e := rest[i*entrySize:]
		m.Entries[i] = agree.Entry{
			Group:  le.Uint32(e),
			Gen:    le.Uint32(e[4:]),
			Topic:  agree.TopicID(le.Uint64(e[8:])),
			Ballot: agree.Ballot{Round: le.Uint32(e[16:]), Node: le.Uint64(e[20:])},
		}
	}
	return ts, nil
}
