package plexo

import (
	"context"
	"reflect"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A Topic is a message type bound to its topic name and codec: the address
// that publishers and subscribers of T share. Generated code declares one per
// message (TemperatureTopic); a Topic is a small value, safe to copy and to
// use from any goroutine and with any number of Plexus values.
type Topic[T proto.Message] struct {
	desc *topicDesc
}

// topicDesc is the type-erased part of a Topic that a Plexus routes by.
type topicDesc struct {
	name   string
	codec  Codec
	goType reflect.Type
	// pointer is whether goType is a pointer, as generated messages are:
	// Publish then tells a nil one without asking the message.
	pointer bool
	// validity caches whether a non-nil message of goType is always valid,
	// as generated ones are (an empty dynamic message is not), so that
	// publishing need not ask each message; it is learnt at the first
	// publish, once protobuf has registered the type.
	validity atomic.Int32
	// zero returns the zero value of the topic's Go type, a nil message
	// pointer whose ProtoReflect gives the message type.
	zero func() proto.Message
	// msgType is the message type, looked up at the first decode and not in
	// NewTopic: generated code calls NewTopic while initialising package
	// variables, before protoc-gen-go's init functions have registered the
	// message types.
	msgType atomic.Pointer[protoreflect.MessageType]
	// fresh returns an empty message by allocating the Go struct itself,
	// which is faster than the message type's New. It is set at the first
	// decode when the two are the same: for generated messages, not for
	// dynamic ones, whose empty value carries a descriptor.
	fresh atomic.Pointer[func() proto.Message]

	// cache remembers the route of the Plexus this topic was used with
	// last, so that publishing does not hash the name every time.
	cache atomic.Pointer[routeRef]
}

type routeRef struct {
	p *Plexus
	r *route
}

// newMessage returns an empty message to decode into.
func (d *topicDesc) newMessage() proto.Message {
	if fresh := d.fresh.Load(); fresh != nil {
		return (*fresh)()
	}
	mt := d.msgType.Load()
	if mt == nil {
		t := d.zero().ProtoReflect().Type()
		mt = &t
		d.msgType.Store(mt)
		if fresh := freshFunc(d.goType, t); fresh != nil {
			d.fresh.Store(&fresh)
			return fresh()
		}
	}
	return (*mt).New().Interface()
}

// freshFunc returns a function that allocates an empty message of goType
// directly, or nil unless such a message is one of type mt: it is for
// generated messages, whose zero struct is an empty message, and not for
// dynamic ones, which need their descriptor.
func freshFunc(goType reflect.Type, mt protoreflect.MessageType) func() proto.Message {
	if !askZeroStruct(goType, func(m protoreflect.Message) bool { return m.Type() == mt }) {
		return nil
	}
	elem := goType.Elem()
	return func() proto.Message {
		m, _ := reflect.New(elem).Interface().(proto.Message)
		return m
	}
}

// askZeroStruct reports what ask says of a newly allocated zero struct of
// the pointer type goType, as a message. It reports false when goType does
// not point to a struct message, or when asking panics, as it does for a
// dynamic message without its descriptor.
func askZeroStruct(goType reflect.Type, ask func(protoreflect.Message) bool) (ok bool) {
	if goType.Kind() != reflect.Pointer || goType.Elem().Kind() != reflect.Struct {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m, isMsg := reflect.New(goType.Elem()).Interface().(proto.Message)
	return isMsg && ask(m.ProtoReflect())
}

const (
	validityUnknown int32 = iota
	validityNonNil        // every non-nil message is valid
	validityAsk           // ask each message
)

// valid reports whether msg, not a nil interface, is a message that can be
// published: not a nil pointer, nor a dynamic message without its type.
func (d *topicDesc) valid(msg proto.Message) bool {
	switch d.validity.Load() {
	case validityNonNil:
		return true // Topic.Publish refused nil pointers
	case validityAsk:
		return msg.ProtoReflect().IsValid()
	}
	v := validityAsk
	if askZeroStruct(d.goType, protoreflect.Message.IsValid) {
		v = validityNonNil
	}
	d.validity.Store(v)
	return msg.ProtoReflect().IsValid()
}

// descriptor returns the topic's message type, or nil when the Go type
// cannot tell it without a message (a dynamic message type).
func (d *topicDesc) descriptor() (md protoreflect.MessageDescriptor) {
	if mt := d.msgType.Load(); mt != nil {
		return (*mt).Descriptor()
	}
	defer func() {
		if recover() != nil {
			md = nil
		}
	}()
	if m := d.zero(); m != nil {
		if pm := m.ProtoReflect(); pm != nil {
			return pm.Descriptor()
		}
	}
	return nil
}

// forget drops the cached route of p, so that a closed Plexus is not kept
// alive by a package-level Topic.
func (d *topicDesc) forget(p *Plexus) {
	if c := d.cache.Load(); c != nil && c.p == p {
		d.cache.CompareAndSwap(c, nil)
	}
}

// NewTopic returns the topic named name for messages of type T, a generated
// message pointer such as *Temperature (not an interface type). The codec is
// the one the name's last dotted part selects ("json" for [JSONCodec],
// anything else for [ProtoCodec]) unless [WithCodec] says otherwise.
//
// Names follow plexo's convention <namespace>.<MessageName>.<codec>, as in
// "brewery.sensors.v1.Temperature.proto"; protoc-gen-plexo computes them from
// the schema.
func NewTopic[T proto.Message](name string, opts ...TopicOption) Topic[T] {
	cfg := topicConfig{codec: codecForTopic(name)}
	for _, o := range opts {
		if o != nil {
			o.applyToTopic(&cfg)
		}
	}
	return Topic[T]{desc: &topicDesc{
		name:    name,
		codec:   cfg.codec,
		goType:  reflect.TypeFor[T](),
		pointer: reflect.TypeFor[T]().Kind() == reflect.Pointer,
		zero: func() proto.Message {
			var zero T
			return zero
		},
	}}
}

// Name returns the topic name, such as "brewery.sensors.v1.Temperature.proto".
func (t Topic[T]) Name() string {
	if t.desc == nil {
		return ""
	}
	return t.desc.name
}

// Codec returns the codec the topic encodes with.
func (t Topic[T]) Codec() Codec {
	if t.desc == nil {
		return ProtoCodec()
	}
	return t.desc.codec
}

// Publish delivers msg to the subscribers of the topic in p and, encoded once,
// to every attached transport whose peers want it. Local subscribers receive
// msg itself: do not modify it afterwards.
//
// Publish returns once msg is queued for every local subscription and handed
// to every transport; it does not wait for handlers. It fails on the zero
// Topic, a nil message, a closed Plexus, a topic name bound to another type
// in p, a done ctx (on entry, or while a subscription's [OverflowBlock]
// policy makes it wait), or a message the codec cannot encode. Delivery to
// other processes is at most once: transport failures are counted and
// logged, not returned.
func (t Topic[T]) Publish(ctx context.Context, p *Plexus, msg T) error {
	if t.desc == nil || t.desc.name == "" {
		return opError("publish", "", ErrInvalidTopic)
	}
	if t.desc.pointer && *(*unsafe.Pointer)(unsafe.Pointer(&msg)) == nil {
		// A pointer type's value is one word, nil or not: reading it is
		// cheaper than comparing interfaces.
		return opError("publish", t.desc.name, ErrNilMessage)
	}
	return p.publish(ctx, t.desc, msg)
}

// WaitForInterest declares that p publishes the topic and blocks until a
// peer reached through an attached transport wants it, as
// [Plexus.WaitForInterest] does. Unlike that method it binds the topic to T
// in p first and lists p as the topic's publisher in the directory from now
// on, so that tools such as `plexo topics` and `plexo echo` see the topic,
// and can fetch its descriptor, before the first message is published. Use
// it where a program waits for a subscriber before it publishes.
//
// It fails on the zero Topic, a closed Plexus, a topic name bound to another
// type in p, and a done ctx.
func (t Topic[T]) WaitForInterest(ctx context.Context, p *Plexus) error {
	if t.desc == nil || t.desc.name == "" {
		return opError("wait for interest", "", ErrInvalidTopic)
	}
	if p.closed.Load() {
		return opError("wait for interest", t.desc.name, ErrClosed)
	}
	r, err := p.bind(t.desc)
	if err != nil {
		return err
	}
	p.notePublishing(r)
	return p.WaitForInterest(ctx, t.desc.name)
}

// Subscribe calls h with every message of the topic that p delivers from now
// on, published in this process or arriving through a transport. The
// subscription is active when Subscribe returns; interest reaches remote
// peers asynchronously. h runs on the subscription's own goroutine, one
// message at a time, with a context that is cancelled when the subscription
// closes; ctx only bounds the call to Subscribe.
//
// Close the returned [Subscription] to stop; [Plexus.Close] closes all of
// them.
func (t Topic[T]) Subscribe(ctx context.Context, p *Plexus, h func(context.Context, T), opts ...SubscribeOption) (*Subscription, error) {
	if t.desc == nil || t.desc.name == "" {
		return nil, opError("subscribe", "", ErrInvalidTopic)
	}
	if h == nil {
		return nil, opError("subscribe", t.desc.name, ErrNilHandler)
	}
	handle := func(ctx context.Context, m any) { h(ctx, m.(T)) }
	return p.subscribe(ctx, t.desc, handle, opts)
}
