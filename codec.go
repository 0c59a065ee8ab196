package plexo

import (
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

func (protoCodec) Marshal(b []byte, m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{}.MarshalAppend(b, m)
}

func (protoCodec) Unmarshal(data []byte, m proto.Message) error {
	return proto.Unmarshal(data, m)
}

type jsonCodec struct{}

func (jsonCodec) Name() string { return CodecNameJSON }

func (jsonCodec) Marshal(b []byte, m proto.Message) ([]byte, error) {
	return protojson.MarshalOptions{}.MarshalAppend(b, m)
}

func (jsonCodec) Unmarshal(data []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}
