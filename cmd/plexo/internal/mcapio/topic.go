package mcapio

import (
	"strings"

	"github.com/plexo-go/plexo"
)

// Codec names of plexo topics, the last part of a topic name.
const (
	CodecProto = "proto"
	CodecJSON  = "json"
)

// MetadataMessage is the channel metadata key that names the message type of
// a json-codec channel: such channels carry no protobuf schema id (MCAP
// readers expect "jsonschema" or none for JSON messages), so the type is
// found by this name among the file's schema records.
const MetadataMessage = "plexo.message"

// TopicCodec returns the codec of a plexo topic name
// (<namespace>.<MessageName>.<codec>, see [plexo.ValidTopicName]) and
// whether the name is valid with a protobuf codec: proto or json.
func TopicCodec(topic string) (string, bool) {
	if !plexo.ValidTopicName(topic) {
		return "", false
	}
	codec := topic[strings.LastIndexByte(topic, '.')+1:]
	if codec != CodecProto && codec != CodecJSON {
		return "", false
	}
	return codec, true
}
