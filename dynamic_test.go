package plexo_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// Topics of dynamic messages work like generated ones, and an empty
// dynamic message (one without its type) is refused like a nil one, for
// generated messages are valid whenever they are not nil, dynamic ones not.
func TestDynamicMessages(t *testing.T) {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	topic := plexo.NewTopic[*dynamicpb.Message]("test.v1.Dynamic.proto")
	got := new(plexotest.Collector[*dynamicpb.Message])
	if _, err := topic.Subscribe(ctx, p, got.Handle); err != nil {
		t.Fatal(err)
	}

	desc := (&wrapperspb.StringValue{}).ProtoReflect().Descriptor()
	msg := dynamicpb.NewMessage(desc)
	msg.Set(desc.Fields().ByName("value"), protoreflect.ValueOfString("hello"))
	for range 2 { // the first publish learns the type's validity, the second uses it
		if err := topic.Publish(ctx, p, new(dynamicpb.Message)); !errors.Is(err, plexo.ErrNilMessage) {
			t.Fatalf("publishing an empty dynamic message: %v, want ErrNilMessage", err)
		}
		if err := topic.Publish(ctx, p, nil); !errors.Is(err, plexo.ErrNilMessage) {
			t.Fatalf("publishing a nil dynamic message: %v, want ErrNilMessage", err)
		}
		if err := topic.Publish(ctx, p, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range got.WaitFor(t, 2) {
		if !proto.Equal(m, msg) {
			t.Fatalf("delivered %v, want %v", m, msg)
		}
	}
}
