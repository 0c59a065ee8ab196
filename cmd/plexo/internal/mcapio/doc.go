// Package mcapio writes plexo traffic into MCAP files and reads it back: one
// schema record per message type (encoding "protobuf", data the message's
// self-contained FileDescriptorSet), one channel per topic (topic = the plexo
// topic name, message encoding "protobuf", or "json" for json-codec topics),
// payloads exactly as received. Any MCAP file whose channels carry protobuf
// under a plexo-valid topic name reads back, not only the command's own.
package mcapio
