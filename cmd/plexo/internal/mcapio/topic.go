package mcapio

import "strings"

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
// (<namespace>.<MessageName>.<codec>, dotted identifiers) and whether the
// name is valid.
func TopicCodec(topic string) (string, bool) {
	dot := strings.LastIndexByte(topic, '.')
	if dot <= 0 {
		return "", false
	}
	codec := topic[dot+1:]
	if codec != CodecProto && codec != CodecJSON {
		return "", false
	}
	for part := range strings.SplitSeq(topic[:dot], ".") {
		if !identifier(part) {
			return "", false
		}
	}
	return codec, true
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
