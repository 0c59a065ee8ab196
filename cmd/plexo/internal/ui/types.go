package ui

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// topicType is what the page needs to decode and encode a topic's
// messages.
type topicType struct {
	md    protoreflect.MessageDescriptor
	codec string
	types resolver
}

// resolver finds the types that google.protobuf.Any fields and extensions
// name: in the files of the topic's message type, then among the types
// linked into the command (the well-known ones).
type resolver struct {
	dyn *dynamicpb.Types // nil when the files did not build
}

// FindMessageByName implements protoregistry.MessageTypeResolver.
func (r resolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if r.dyn != nil {
		if mt, err := r.dyn.FindMessageByName(name); err == nil {
			return mt, nil
		}
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

// FindMessageByURL implements protoregistry.MessageTypeResolver.
func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if r.dyn != nil {
		if mt, err := r.dyn.FindMessageByURL(url); err == nil {
			return mt, nil
		}
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}

// FindExtensionByName implements protoregistry.ExtensionTypeResolver.
func (r resolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if r.dyn != nil {
		if xt, err := r.dyn.FindExtensionByName(field); err == nil {
			return xt, nil
		}
	}
	return protoregistry.GlobalTypes.FindExtensionByName(field)
}

// FindExtensionByNumber implements protoregistry.ExtensionTypeResolver.
func (r resolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if r.dyn != nil {
		if xt, err := r.dyn.FindExtensionByNumber(message, field); err == nil {
			return xt, nil
		}
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// resolve finds the type and codec of topic from the directory, waiting at
// most resolveTimeout for the descriptors.
func (s *Server) resolve(ctx context.Context, topic string) (topicType, error) {
	ti, ok := s.dir.Lookup(topic)
	if !ok {
		return topicType{}, fmt.Errorf("topic %s is not in the directory", topic)
	}
	if ti.Message == "" {
		return topicType{codec: ti.Codec}, fmt.Errorf("no publisher or subscriber of %s names its message type", topic)
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	set, err := s.dir.FileDescriptorSet(ctx, ti.Message)
	if err != nil {
		return topicType{codec: ti.Codec}, fmt.Errorf("no descriptor of %s: %w", ti.Message, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return topicType{codec: ti.Codec}, fmt.Errorf("the descriptors of %s do not build: %w", ti.Message, err)
	}
	d, err := files.FindDescriptorByName(ti.Message)
	md, ok := d.(protoreflect.MessageDescriptor)
	if err != nil || !ok {
		return topicType{codec: ti.Codec}, fmt.Errorf("the descriptors of %s do not declare it", ti.Message)
	}
	return topicType{md: md, codec: ti.Codec, types: resolver{dynamicpb.NewTypes(files)}}, nil
}
