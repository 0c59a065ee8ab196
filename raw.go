package plexo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// A RawMessage is one message as it travels between processes: encoded,
// with its topic, codec and origin. Raw handlers ([Plexus.SubscribeRaw],
// [Plexus.SubscribeNamespace]) receive it, for tools that handle topics
// without their Go types: recorders, bridges to other systems, inspectors.
type RawMessage struct {
	// Topic is the topic name, such as "brewery.sensors.v1.Temperature.proto".
	Topic string
	// Codec is the name of the codec Payload is encoded with: [CodecNameProto]
	// or [CodecNameJSON] for plexo's own codecs.
	Codec string
	// Payload is the encoded message. It is valid only until the handler
	// returns: copy it to keep it.
	Payload []byte
	// Origin is the ID of the Plexus that published the message; it is the
	// receiving Plexus's own [Plexus.ID] for a message published locally.
	Origin uint64
	// Sequence numbers the messages of one origin in publish order.
	Sequence uint64
	// Received is when the Plexus received (or published) the message and
	// queued it for the subscription: the time to log it at, as recorders
	// do, unaffected by how long it waited in the subscription's queue.
	Received time.Time
}

// rawDelivery is a RawMessage queued for a raw subscription with its own
// copy of the payload, pooled so that the steady state does not allocate.
type rawDelivery struct {
	msg RawMessage
	buf []byte
}

var rawPool = sync.Pool{New: func() any { return &rawDelivery{buf: make([]byte, 0, 512)} }}

func putRawDelivery(d *rawDelivery) {
	if cap(d.buf) > maxPooledBuffer {
		return
	}
	d.msg = RawMessage{}
	rawPool.Put(d)
}

// offerRaw queues a copy of msg for every raw subscription of r.
func offerRaw(ctx context.Context, r *route, msg *Message) error {
	subs := *r.rawSubs.Load()
	if len(subs) == 0 {
		return nil
	}
	codec := r.codecName()
	now := time.Now()
	for _, s := range subs {
		d := rawPool.Get().(*rawDelivery)
		payload := msg.Payload // an inline handler returns before the caller reuses it
		if !s.inline {
			d.buf = append(d.buf[:0], msg.Payload...)
			payload = d.buf
		}
		d.msg = RawMessage{Topic: r.name, Codec: codec, Payload: payload, Origin: msg.Origin, Sequence: msg.Sequence, Received: now}
		if err := s.offer(ctx, d); err != nil {
			return opError("publish", r.name, err)
		}
	}
	return nil
}

// list returns the route's list that s belongs to.
func (s *Subscription) list() *atomic.Pointer[[]*Subscription] {
	if s.raw {
		return &s.route.rawSubs
	}
	return &s.route.subs
}

// SubscribeRaw calls h with every message of the named topic that p
// delivers from now on, still encoded: no Go type is needed. It is the typed
// [Topic.Subscribe] in every other way: the subscription is active when
// SubscribeRaw returns, its interest reaches peers and crosses bridges,
// duplicates are dropped, and h runs on the subscription's own goroutine
// under the same options. A message published in this process with a typed
// [Topic] is encoded once for all raw subscribers.
//
// h must not keep the RawMessage or its Payload after it returns.
func (p *Plexus) SubscribeRaw(ctx context.Context, topic string, h func(context.Context, *RawMessage), opts ...SubscribeOption) (*Subscription, error) {
	if !ValidTopicName(topic) {
		return nil, opError("subscribe", topic, ErrInvalidTopic)
	}
	if h == nil {
		return nil, opError("subscribe", topic, ErrNilHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, opError("subscribe", topic, err)
	}
	if p.closed.Load() {
		return nil, opError("subscribe", topic, ErrClosed)
	}
	handle := func(ctx context.Context, m any) {
		d := m.(*rawDelivery)
		h(ctx, &d.msg)
		putRawDelivery(d)
	}
	return p.addSubscription(topic, true, handle, opts)
}

// PublishRaw publishes payload, a message already encoded with the topic's
// codec, on the named topic: to the local subscribers (typed ones receive
// it decoded) and to every transport whose peers want it, as if a [Topic]
// had published it. payload belongs to the caller again when PublishRaw
// returns.
//
// It fails on an invalid topic name, a closed Plexus, a done ctx, or a
// payload that does not decode as the Go type a local typed subscriber
// bound the topic to (then it is delivered nowhere).
func (p *Plexus) PublishRaw(ctx context.Context, topic string, payload []byte) error {
	if !ValidTopicName(topic) {
		return opError("publish", topic, ErrInvalidTopic)
	}
	if p.closed.Load() {
		return opError("publish", topic, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return opError("publish", topic, err)
	}
	r := p.routeFor(topic)
	if subs := *r.subs.Load(); len(subs) > 0 {
		d := r.binding.Load() // typed subscriptions bound the route
		v := d.newMessage()
		if err := d.codec.Unmarshal(payload, v); err != nil {
			return opError("publish", topic, fmt.Errorf("payload does not decode as %v: %w", d.goType, err))
		}
		if err := offer(ctx, d, r, v); err != nil {
			return err
		}
	}
	p.countPublished(r)
	return p.emit(ctx, r, payload)
}

// emit hands payload, already encoded, as a new message of p's to r's raw
// subscribers and to the transports that want r's topic.
func (p *Plexus) emit(ctx context.Context, r *route, payload []byte) error {
	out := getOutbound()
	defer putOutbound(out)
	out.msg = Message{Topic: r.name, Payload: payload, Origin: p.id, Sequence: p.seq.Add(1)}
	if err := offerRaw(ctx, r, &out.msg); err != nil {
		return err
	}
	p.send(ctx, r, &out.msg, nil)
	return nil
}

// describedType is a message type given to DescribeTopic.
type describedType struct {
	md protoreflect.MessageDescriptor
}

// DescribeTopic tells p the message type of a topic that it publishes or
// subscribes raw, without a Go type: p's directory entry for the topic then
// names the type, and p shares its descriptor like those of its typed
// topics. Tools that publish recorded or hand-written messages use it. A
// topic bound to a Go type keeps that type's descriptor.
func (p *Plexus) DescribeTopic(topic string, md protoreflect.MessageDescriptor) error {
	if !ValidTopicName(topic) {
		return opError("describe", topic, ErrInvalidTopic)
	}
	if md == nil {
		return opError("describe", topic, fmt.Errorf("nil message descriptor"))
	}
	if p.closed.Load() {
		return opError("describe", topic, ErrClosed)
	}
	r := p.lockRoute(topic)
	r.described.Store(&describedType{md: md})
	p.noteIdle(r)
	p.mu.Unlock()
	p.directoryChanged()
	return nil
}

// maxTopicNameLen bounds a topic name, in bytes.
const maxTopicNameLen = 512

// ValidTopicName reports whether name can be a topic name: at most 512
// bytes of at least two dotted parts, none empty, of ASCII letters, digits,
// '_' and '-', such as "brewery.sensors.v1.Temperature.proto". Names are
// case-sensitive. The raw API refuses other names with [ErrInvalidTopic].
func ValidTopicName(name string) bool {
	if name == "" || len(name) > maxTopicNameLen {
		return false
	}
	parts, partLen := 1, 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if partLen == 0 {
				return false
			}
			parts, partLen = parts+1, 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			partLen++
		default:
			return false
		}
	}
	return parts >= 2 && partLen > 0
}
