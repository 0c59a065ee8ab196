package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo"
)

// A watch is the raw subscription to a topic that viewers selected, with a
// ring of its newest messages. It lives while a viewer selects the topic.
type watch struct {
	topic string
	refs  int // viewers, under Server.mu
	sub   *plexo.Subscription

	mu   sync.Mutex
	ring [ringLen]entry
	seq  uint64 // messages received; ring[(seq-1)%ringLen] is the newest
	// judged is the newest sequence number whose decoding was counted, so
	// that several viewers count a failure once.
	judged uint64

	resolveMu sync.Mutex
	typ       topicType
	nextTry   time.Time
	why       string // why typ.md is nil
}

// entry is one message in the ring, its payload copied.
type entry struct {
	seq    uint64
	at     time.Time
	origin uint64
	buf    []byte
}

// take is the watch's inline raw handler: it copies the message into the
// ring, reusing the slot's buffer.
func (w *watch) take(_ context.Context, m *plexo.RawMessage) {
	w.mu.Lock()
	w.seq++
	e := &w.ring[(w.seq-1)%ringLen]
	e.seq, e.at, e.origin = w.seq, m.Received, m.Origin
	e.buf = append(e.buf[:0], m.Payload...)
	w.mu.Unlock()
}

// since returns copies of the messages newer than seq, newest first, and
// the newest sequence number.
func (w *watch) since(seq uint64) ([]entry, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []entry
	for s := w.seq; s > seq && s > 0 && len(out) < ringLen; s-- {
		e := w.ring[(s-1)%ringLen]
		out = append(out, entry{seq: e.seq, at: e.at, origin: e.origin, buf: append([]byte(nil), e.buf...)})
	}
	return out, w.seq
}

// acquire returns the watch of topic, subscribing to it for the first
// viewer.
func (s *Server) acquire(ctx context.Context, topic string) (*watch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.watches[topic]; w != nil {
		w.refs++
		return w, nil
	}
	w := &watch{topic: topic, refs: 1}
	sub, err := s.p.SubscribeRaw(ctx, topic, w.take, plexo.WithInline())
	if err != nil {
		return nil, err
	}
	w.sub = sub
	s.watches[topic] = w
	return w, nil
}

// release drops a viewer of w, unsubscribing after the last.
func (s *Server) release(w *watch) {
	s.mu.Lock()
	w.refs--
	last := w.refs == 0 && s.watches[w.topic] == w
	if last {
		delete(s.watches, w.topic)
	}
	s.mu.Unlock()
	if last {
		_ = w.sub.Close()
	}
}

// watched reports how many topics are subscribed for viewers now.
func (s *Server) watched() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.watches)
}

// descriptor returns w's type, resolving it once; a failure is retried a
// second later.
func (s *Server) descriptor(ctx context.Context, w *watch) (topicType, string) {
	w.resolveMu.Lock()
	defer w.resolveMu.Unlock()
	if w.typ.md == nil && time.Now().After(w.nextTry) {
		typ, err := s.resolve(ctx, w.topic)
		w.typ = typ
		if err != nil {
			w.why = err.Error()
			w.nextTry = time.Now().Add(time.Second)
		}
	}
	return w.typ, w.why
}

// decoded is a message as the "messages" event sends it.
type decoded struct {
	Seq    uint64 `json:"seq"`
	Time   int64  `json:"time"` // Unix milliseconds
	Origin string `json:"origin"`
	Size   int    `json:"size"`
	JSON   string `json:"json,omitempty"`
	Error  string `json:"error,omitempty"`
}

// decode turns payload into indented JSON text.
func decode(typ topicType, payload []byte) (string, error) {
	msg := dynamicpb.NewMessage(typ.md)
	var err error
	switch typ.codec {
	case plexo.CodecNameProto:
		err = proto.UnmarshalOptions{Resolver: typ.types}.Unmarshal(payload, msg)
	case plexo.CodecNameJSON:
		err = protojson.UnmarshalOptions{Resolver: typ.types}.Unmarshal(payload, msg)
	default:
		return "", fmt.Errorf("codec %q is not one the page decodes", typ.codec)
	}
	if err != nil {
		return "", err
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", Resolver: typ.types}.Marshal(msg)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeAll decodes entries for a viewer, counting the failures.
func (s *Server) decodeAll(ctx context.Context, w *watch, es []entry) []decoded {
	typ, why := s.descriptor(ctx, w)
	out := make([]decoded, 0, len(es))
	var failed uint64
	w.mu.Lock()
	judged := w.judged
	if len(es) > 0 && es[0].seq > w.judged {
		w.judged = es[0].seq
	}
	w.mu.Unlock()
	for _, e := range es {
		d := decoded{Seq: e.seq, Time: e.at.UnixMilli(), Origin: originString(e.origin), Size: len(e.buf)}
		switch {
		case typ.md == nil:
			d.Error = why
		default:
			text, err := decode(typ, e.buf)
			if err != nil {
				d.Error = "decode: " + err.Error()
				if e.seq > judged {
					failed++
				}
			}
			d.JSON = text
		}
		out = append(out, d)
	}
	if failed > 0 {
		s.mu.Lock()
		s.uiErrs[w.topic] += failed
		s.mu.Unlock()
	}
	return out
}
