// Package schemas turns the ways the plexo command learns message types into
// protobuf descriptors: .proto files compiled with protocompile (--proto, -I),
// serialized FileDescriptorSets (--descriptor-set, MCAP schema records, the
// directory), and back: a message descriptor into the self-contained
// FileDescriptorSet that an MCAP schema record carries.
package schemas
