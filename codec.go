package plexo

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// A Codec turns messages into bytes and back. The codec of a topic is part of
// its name (the last dotted part, "proto" or "json"), so that every process
// reading a topic agrees on its encoding.
//
// Codecs must be safe for concurrent use.
type Codec interface {
	// Name is the codec's part of a topic name, such as "proto".
	Name() string
	// Marshal appends the encoding of m to b and returns the result.
	Marshal(b []byte, m proto.Message) ([]byte, error)
	// Unmarshal decodes data into m, which is empty. It must not keep data.
	Unmarshal(data []byte, m proto.Message) error
}

// Codec names, as they end topic names.
const (
	CodecNameProto = "proto"
	CodecNameJSON  = "json"
)

// ProtoCodec returns the codec for binary protobuf, named "proto": plexo's
// default, and the encoding of every topic whose name ends in ".proto".
//
// Messages generated with planetscale/vtprotobuf's protoc-gen-go-vtproto
// (features marshal, unmarshal and size) are encoded and decoded with their
// SizeVT, MarshalToSizedBufferVT and UnmarshalVT methods, which skip
// protobuf's reflection; other messages with protobuf's own functions. The
// bytes are the same protobuf encoding either way.
func ProtoCodec() Codec { return protoCodec{} }

// JSONCodec returns the codec for protojson, named "json", used by topics
// whose name ends in ".json". It ignores unknown fields when decoding so
// that readers keep working when a schema gains fields.
func JSONCodec() Codec { return jsonCodec{} }

// codecForTopic returns the codec that a topic's name selects by its last
// dotted part: JSON for ".json", binary protobuf for everything else.
func codecForTopic(name string) Codec {
	if strings.HasSuffix(name, "."+CodecNameJSON) {
		return JSONCodec()
	}
	return ProtoCodec()
}

type protoCodec struct{}

func (protoCodec) Name() string { return CodecNameProto }

// vtMessage is the part of the methods that planetscale/vtprotobuf's
// protoc-gen-go-vtproto generates that the proto codec uses: encoding and
// decoding without protobuf's reflection.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
	UnmarshalVT(dAtA []byte) error
}

// Marshal uses the message's vtprotobuf methods when it has them, found
// through the vtMessage interface (the runtime caches the answer per type),
// and protobuf's MarshalAppend otherwise. Both give the same bytes.
func (protoCodec) Marshal(b []byte, m proto.Message) ([]byte, error) {
	if vm, ok := m.(vtMessage); ok {
		return marshalVT(b, vm)
	}
	return proto.MarshalOptions{}.MarshalAppend(b, m)
}

// marshalVT appends the encoding of m to b: MarshalToSizedBufferVT fills
// exactly SizeVT bytes from their end.
func marshalVT(b []byte, m vtMessage) ([]byte, error) {
	n := m.SizeVT()
	b = slices.Grow(b, n)
	if _, err := m.MarshalToSizedBufferVT(b[len(b) : len(b)+n]); err != nil {
		return b, err
	}
	return b[:len(b)+n], nil
}

// Unmarshal uses the message's vtprotobuf methods when it has them. m is
// empty, as the Codec contract says, so neither way resets it first.
func (protoCodec) Unmarshal(data []byte, m proto.Message) error {
	if vm, ok := m.(vtMessage); ok {
		return vm.UnmarshalVT(data)
	}
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(data, m)
}

type jsonCodec struct{}

func (jsonCodec) Name() string { return CodecNameJSON }

func (jsonCodec) Marshal(b []byte, m proto.Message) ([]byte, error) {
	return protojson.MarshalOptions{}.MarshalAppend(b, m)
}

func (jsonCodec) Unmarshal(data []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}
