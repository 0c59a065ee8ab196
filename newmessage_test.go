package plexo

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Generated messages are allocated directly, which must give the same empty
// message as the message type's New; dynamic messages keep using New.
func TestNewMessageAllocatesGeneratedTypesDirectly(t *testing.T) {
	d := NewTopic[*wrapperspb.StringValue]("test.v1.Fresh.proto").desc
	first := d.newMessage()
	if d.fresh.Load() == nil {
		t.Fatal("generated message type: no direct allocation")
	}
	second := d.newMessage()
	if first == second {
		t.Fatal("newMessage returned the same message twice")
	}
	if _, ok := second.(*wrapperspb.StringValue); !ok {
		t.Fatalf("newMessage returned %T", second)
	}
	if err := proto.Unmarshal([]byte{0x0a, 0x02, 'h', 'i'}, second); err != nil || second.(*wrapperspb.StringValue).GetValue() != "hi" {
		t.Fatalf("decoding into a directly allocated message: %v, %v", second, err)
	}

	mt := dynamicpb.NewMessageType((&wrapperspb.StringValue{}).ProtoReflect().Descriptor())
	if f := freshFunc(reflectTypeOf(mt.Zero().Interface()), mt); f != nil {
		t.Fatal("dynamic message type: allocated directly, without its descriptor")
	}
}

func reflectTypeOf(m proto.Message) reflect.Type { return reflect.TypeOf(m) }

// BenchmarkNewMessage measures allocating the empty message a decode goes
// into, beside allocating it with new.
func BenchmarkNewMessage(b *testing.B) {
	b.Run("newMessage", func(b *testing.B) {
		d := NewTopic[*wrapperspb.BytesValue]("test.v1.Fresh.proto").desc
		d.newMessage()
		b.ReportAllocs()
		for b.Loop() {
			sinkMessage = d.newMessage()
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMessage = new(wrapperspb.BytesValue)
		}
	})
}

var sinkMessage proto.Message
