package benchmarks

import (
	"bytes"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/benchmarks/testdata/vtbenchpb"
)

// vtMessages are the vtprotobuf-generated messages the codec benchmarks
// encode and decode, each with the bytes it should decode from.
func vtMessages() []struct {
	name string
	msg  proto.Message
	new  func() proto.Message
} {
	return []struct {
		name string
		msg  proto.Message
		new  func() proto.Message
	}{
		{"Payload128B", &vtbenchpb.Payload{Data: make([]byte, 128)}, func() proto.Message { return new(vtbenchpb.Payload) }},
		{"Reading", &vtbenchpb.Reading{
			SensorId: "fermenter-2/probe-1",
			Value:    19.5,
			Sequence: 123456789,
			Tags:     []string{"brewhouse", "fermentation", "celsius"},
			Labels:   map[string]string{"site": "brewery", "line": "2"},
		}, func() proto.Message { return new(vtbenchpb.Reading) }},
	}
}

func TestProtoCodecWithVTProtobufMatchesProtobuf(t *testing.T) {
	codec := plexo.ProtoCodec()
	for _, m := range vtMessages() {
		t.Run(m.name, func(t *testing.T) {
			got, err := codec.Marshal([]byte("x"), m.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte("x")) {
				t.Fatalf("Marshal did not append: %x", got)
			}
			// protobuf decodes what the vtprotobuf methods encoded, and the
			// other way round (maps make the bytes' order free).
			back := m.new()
			if err := proto.Unmarshal(got[1:], back); err != nil || !proto.Equal(back, m.msg) {
				t.Fatalf("protobuf decodes %v (%v), want %v", back, err, m.msg)
			}
			want, err := proto.Marshal(m.msg)
			if err != nil {
				t.Fatal(err)
			}
			back = m.new()
			if err := codec.Unmarshal(want, back); err != nil || !proto.Equal(back, m.msg) {
				t.Fatalf("codec decodes %v (%v), want %v", back, err, m.msg)
			}
		})
	}
}

// BenchmarkProtoCodec measures plexo's proto codec on messages with
// vtprotobuf's methods, which it uses, beside protobuf's reflection-driven
// MarshalAppend and Unmarshal on the same messages, which it used before.
//
//	cd benchmarks && go test -run '^$' -bench ProtoCodec -benchmem -count 6
func BenchmarkProtoCodec(b *testing.B) {
	codec := plexo.ProtoCodec()
	for _, m := range vtMessages() {
		data, err := proto.Marshal(m.msg)
		if err != nil {
			b.Fatal(err)
		}
		for _, way := range []string{"vtprotobuf", "protobuf"} {
			b.Run(fmt.Sprintf("%s/marshal/%s", m.name, way), func(b *testing.B) {
				var buf []byte
				b.ReportAllocs()
				for b.Loop() {
					if way == "vtprotobuf" {
						buf, err = codec.Marshal(buf[:0], m.msg)
					} else {
						buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], m.msg)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/unmarshal/%s", m.name, way), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					msg := m.new()
					if way == "vtprotobuf" {
						err = codec.Unmarshal(data, msg)
					} else {
						err = proto.Unmarshal(data, msg)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
