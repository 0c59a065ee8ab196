package plexo

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// fileDescriptorSet returns the self-contained FileDescriptorSet of a
// message type, as the directory shares it.
func fileDescriptorSet(md protoreflect.MessageDescriptor) *descriptorpb.FileDescriptorSet {
	return FileDescriptorSetOf(md.ParentFile())
}

// FileDescriptorSetOf returns the self-contained FileDescriptorSet of a
// file, in the form the directory shares for a message type: the file and
// every file it imports, directly or not, well-known types included, each
// after its imports. Tools that store or send schemas beside plexo's (a
// recorder writing MCAP, say) use it so that theirs match.
func FileDescriptorSetOf(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorSet {
	set := new(descriptorpb.FileDescriptorSet)
	seen := make(map[string]bool)
	var visit func(protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if fd == nil || fd.IsPlaceholder() || seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	visit(fd)
	return set
}

// errBadDescriptorSet reports a shared descriptor set that cannot be used.
var errBadDescriptorSet = errors.New("bad descriptor set")

// decodeDescriptorSet decodes a serialized FileDescriptorSet that a peer
// shared for the message type name, and returns the type's descriptor. It
// refuses, with an error and never a panic, a set that is too large, does
// not parse, is not self-contained, or does not declare the message.
func decodeDescriptorSet(data []byte, name protoreflect.FullName) (md protoreflect.MessageDescriptor, set *descriptorpb.FileDescriptorSet, err error) {
	if len(data) > maxDescriptorSetSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, more than %d", errBadDescriptorSet, len(data), maxDescriptorSetSize)
	}
	if !name.IsValid() {
		return nil, nil, fmt.Errorf("%w: invalid message name %q", errBadDescriptorSet, name)
	}
	defer func() {
		// protodesc checks what it builds; this is the last line of defence
		// for input made to break it.
		if v := recover(); v != nil {
			md, set, err = nil, nil, fmt.Errorf("%w: %v", errBadDescriptorSet, v)
		}
	}()
	set = new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(data, set); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBadDescriptorSet, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBadDescriptorSet, err)
	}
	d, err := files.FindDescriptorByName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBadDescriptorSet, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s is not a message", errBadDescriptorSet, name)
	}
	return md, set, nil
}
