package plexo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

// vtInt64 is an Int64Value with hand-written vtprotobuf-style methods that
// count their calls, so that the test tells which way the codec went.
type vtInt64 struct {
	wrapperspb.Int64Value
	sized, marshalled, unmarshalled int
}

// ProtoReflect answers for a nil *vtInt64 too, as generated messages do.
func (m *vtInt64) ProtoReflect() protoreflect.Message {
	if m == nil {
		return (*wrapperspb.Int64Value)(nil).ProtoReflect()
	}
	return m.Int64Value.ProtoReflect()
}

func (m *vtInt64) SizeVT() int {
	m.sized++
	if m.Value == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(uint64(m.Value))
}

func (m *vtInt64) MarshalToSizedBufferVT(b []byte) (int, error) {
	m.marshalled++
	if m.Value == 0 {
		return 0, nil
	}
	enc := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(m.Value))
	copy(b[len(b)-len(enc):], enc)
	return len(enc), nil
}

func (m *vtInt64) UnmarshalVT(b []byte) error {
	m.unmarshalled++
	// Decoding itself is protobuf's here: the test is about which way the
	// codec goes, not about decoding.
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(b, &m.Int64Value)
}

func TestProtoCodecUsesVTProtobufMethods(t *testing.T) {
	codec := plexo.ProtoCodec()
	m := &vtInt64{}
	m.Value = 300
	prefix := []byte("prefix")
	got, err := codec.Marshal(bytes.Clone(prefix), m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := proto.MarshalOptions{}.MarshalAppend(bytes.Clone(prefix), wrapperspb.Int64(300))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal = %x, want %x", got, want)
	}
	if m.sized != 1 || m.marshalled != 1 {
		t.Fatalf("SizeVT called %d times and MarshalToSizedBufferVT %d, want once each", m.sized, m.marshalled)
	}

	out := &vtInt64{}
	if err := codec.Unmarshal(got[len(prefix):], out); err != nil {
		t.Fatal(err)
	}
	if out.unmarshalled != 1 || out.Value != 300 {
		t.Fatalf("Unmarshal: UnmarshalVT called %d times, value %d; want once, 300", out.unmarshalled, out.Value)
	}

	// A message without the methods goes through protobuf.
	plain := new(wrapperspb.Int64Value)
	if err := codec.Unmarshal(want[len(prefix):], plain); err != nil || plain.Value != 300 {
		t.Fatalf("Unmarshal of a plain message: %v, %v", plain, err)
	}
}

func TestTopicOfAVTProtobufTypeDecodesWithUnmarshalVT(t *testing.T) {
	topic := plexo.NewTopic[*vtInt64]("test.v1.VTInt64.proto")
	p := newPlexus(t)
	tr := &discardTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	got := make(chan *vtInt64, 1)
	if _, err := topic.Subscribe(t.Context(), p, func(_ context.Context, m *vtInt64) { got <- m }, plexo.WithInline()); err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(wrapperspb.Int64(42))
	if err != nil {
		t.Fatal(err)
	}
	tr.host.Deliver(&plexo.Message{Topic: topic.Name(), Payload: payload, Origin: 7, Sequence: 1})
	var m *vtInt64
	select {
	case m = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
	if m.Value != 42 || m.unmarshalled != 1 {
		t.Fatalf("delivered value %d decoded by UnmarshalVT %d times, want 42 and once", m.Value, m.unmarshalled)
	}
}
