package schemas

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// Linked so that sets which leave out plexo's options file still resolve.
	"github.com/plexo-go/plexo"
	_ "github.com/plexo-go/plexo/schema/plexo/v1"
)

// MaxFiles caps the number of files one FileDescriptorSet may hold.
const MaxFiles = 4096

// ErrNotFound reports a message name that a set of descriptors does not hold.
var ErrNotFound = errors.New("message not found")

// ParseSet decodes a serialized FileDescriptorSet into a registry of its
// files. Imports that the set leaves out are taken from the well-known types
// and plexo's own schemas linked into the command; anything else missing,
// an import cycle or an invalid descriptor is an error.
func ParseSet(data []byte) (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("decode FileDescriptorSet: %w", err)
	}
	return FilesOf(&set)
}

// FilesOf builds a registry from a FileDescriptorSet, in any file order,
// with the same fallbacks as [ParseSet].
func FilesOf(set *descriptorpb.FileDescriptorSet) (*protoregistry.Files, error) {
	if len(set.GetFile()) > MaxFiles {
		return nil, fmt.Errorf("FileDescriptorSet: %d files, more than %d", len(set.GetFile()), MaxFiles)
	}
	b := builder{
		byName: make(map[string]*descriptorpb.FileDescriptorProto, len(set.GetFile())),
		state:  make(map[string]int, len(set.GetFile())),
		files:  new(protoregistry.Files),
	}
	for _, f := range set.GetFile() {
		if _, dup := b.byName[f.GetName()]; dup {
			return nil, fmt.Errorf("FileDescriptorSet: file %q twice", f.GetName())
		}
		b.byName[f.GetName()] = f
	}
	for _, f := range set.GetFile() {
		if err := b.build(f.GetName(), 0); err != nil {
			return nil, err
		}
	}
	return b.files, nil
}

// builder registers files dependencies first.
type builder struct {
	byName map[string]*descriptorpb.FileDescriptorProto
	state  map[string]int // 1 = being built, 2 = done
	files  *protoregistry.Files
}

func (b *builder) build(name string, depth int) error {
	switch b.state[name] {
	case 1:
		return fmt.Errorf("FileDescriptorSet: import cycle through %q", name)
	case 2:
		return nil
	}
	if depth > MaxFiles {
		return fmt.Errorf("FileDescriptorSet: imports nested too deep at %q", name)
	}
	fdp, ok := b.byName[name]
	if !ok {
		if _, err := protoregistry.GlobalFiles.FindFileByPath(name); err == nil {
			b.state[name] = 2
			return nil
		}
		return fmt.Errorf("FileDescriptorSet: missing import %q", name)
	}
	b.state[name] = 1
	for _, dep := range fdp.GetDependency() {
		if err := b.build(dep, depth+1); err != nil {
			return err
		}
	}
	fd, err := protodesc.NewFile(fdp, resolver{b.files})
	if err != nil {
		return fmt.Errorf("FileDescriptorSet: file %q: %w", name, err)
	}
	if err := b.files.RegisterFile(fd); err != nil {
		return fmt.Errorf("FileDescriptorSet: file %q: %w", name, err)
	}
	b.state[name] = 2
	return nil
}

// resolver looks in the set's own files first, then in the linked ones.
type resolver struct{ own *protoregistry.Files }

// FindFileByPath implements protodesc.Resolver.
func (r resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.own.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

// FindDescriptorByName implements protodesc.Resolver.
func (r resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.own.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

// FindMessage looks a message up by full name in files, then among the
// linked well-known types.
func FindMessage(files *protoregistry.Files, name protoreflect.FullName) (protoreflect.MessageDescriptor, error) {
	d, err := resolver{files}.FindDescriptorByName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a message: %w", name, ErrNotFound)
	}
	return md, nil
}

// MessageFromSet decodes a serialized FileDescriptorSet and returns the
// descriptor of the named message in it: what an MCAP schema record holds.
func MessageFromSet(data []byte, name protoreflect.FullName) (protoreflect.MessageDescriptor, error) {
	files, err := ParseSet(data)
	if err != nil {
		return nil, err
	}
	return FindMessage(files, name)
}

// SetOf returns the self-contained FileDescriptorSet of md: its file and
// every file it imports, transitively, dependencies before their importers,
// exactly as the plexo directory shares it ([plexo.FileDescriptorSetOf]).
func SetOf(md protoreflect.MessageDescriptor) *descriptorpb.FileDescriptorSet {
	return plexo.FileDescriptorSetOf(md.ParentFile())
}

// MarshalSetOf is [SetOf] serialized, deterministically.
func MarshalSetOf(md protoreflect.MessageDescriptor) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(SetOf(md))
	if err != nil {
		return nil, fmt.Errorf("encode FileDescriptorSet of %s: %w", md.FullName(), err)
	}
	return b, nil
}
