package genplexo

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/plexo-go/plexo"
	plexov1 "github.com/plexo-go/plexo/schema/plexo/v1"
)

// fileTopics returns the topics of f's eligible messages in declaration
// order (a message before its nested messages), and the mistakes in f's
// plexo options.
func fileTopics(f *protogen.File) ([]*topic, []error) {
	var errs []error
	path := f.Desc.Path()

	namespace := string(f.Desc.Package())
	if opts := f.Desc.Options(); proto.HasExtension(opts, plexov1.E_Namespace) {
		namespace = proto.GetExtension(opts, plexov1.E_Namespace).(string)
		if err := checkDotted(namespace); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid (plexo.v1.namespace) %q: %w", path, namespace, err))
		}
	}
	fileCodec := plexo.CodecNameProto
	if opts := f.Desc.Options(); proto.HasExtension(opts, plexov1.E_DefaultCodec) {
		fileCodec = proto.GetExtension(opts, plexov1.E_DefaultCodec).(string)
		if err := checkCodec(fileCodec); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid (plexo.v1.default_codec) %q: %w", path, fileCodec, err))
		}
	}

	var topics []*topic
	var walk func([]*protogen.Message)
	walk = func(msgs []*protogen.Message) {
		for _, m := range msgs {
			if m.Desc.IsMapEntry() {
				continue
			}
			name, err := topicName(namespace, fileCodec, m)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: message %s: %w", path, m.Desc.FullName(), err))
			} else if name != "" {
				topics = append(topics, &topic{file: f, msg: m, name: name})
			}
			walk(m.Messages)
		}
	}
	walk(f.Messages)
	return topics, errs
}

// topicName returns the topic name of m, or "" if m is skipped.
func topicName(namespace, fileCodec string, m *protogen.Message) (string, error) {
	opts := m.Desc.Options()
	if proto.GetExtension(opts, plexov1.E_Skip).(bool) {
		return "", nil
	}
	name := relativeName(m.Desc)
	if proto.HasExtension(opts, plexov1.E_Alias) {
		name = proto.GetExtension(opts, plexov1.E_Alias).(string)
		if err := checkDotted(name); err != nil {
			return "", fmt.Errorf("invalid (plexo.v1.alias) %q: %w", name, err)
		}
	}
	codec := fileCodec
	if proto.HasExtension(opts, plexov1.E_Codec) {
		codec = proto.GetExtension(opts, plexov1.E_Codec).(string)
		if err := checkCodec(codec); err != nil {
			return "", fmt.Errorf("invalid (plexo.v1.codec) %q: %w", codec, err)
		}
	}
	if namespace == "" {
		// A file without a package or namespace: its topic names start
		// with the message name.
		return name + "." + codec, nil
	}
	return namespace + "." + name + "." + codec, nil
}

// relativeName returns the name of m relative to its package, such as
// "Outer.Inner".
func relativeName(m protoreflect.MessageDescriptor) string {
	full := string(m.FullName())
	if pkg := string(m.ParentFile().Package()); pkg != "" {
		return strings.TrimPrefix(full, pkg+".")
	}
	return full
}

// checkDotted reports whether s is dotted parts of ASCII letters, digits and
// underscores, as namespaces and aliases must be.
func checkDotted(s string) error {
	if s == "" {
		return fmt.Errorf("it is empty")
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return fmt.Errorf("it has an empty dotted part")
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				return fmt.Errorf("%q is not allowed; use dotted parts of A-Z, a-z, 0-9 and _", r)
			}
		}
	}
	return nil
}

// checkCodec reports whether codec is one that plexo knows.
func checkCodec(codec string) error {
	switch codec {
	case plexo.CodecNameProto, plexo.CodecNameJSON:
		return nil
	}
	return fmt.Errorf("unknown codec; use %q or %q", plexo.CodecNameProto, plexo.CodecNameJSON)
}
