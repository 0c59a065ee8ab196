package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
)

// schemaFlags are --proto, -I and --descriptor-set.
type schemaFlags struct {
	src schemas.Sources
}

func (f *schemaFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.src.Protos, "proto", nil, "decode with the types of `FILE.proto`, compiled (repeatable; relative to -I)")
	fs.StringArrayVarP(&f.src.ImportPaths, "import-path", "I", nil, "look for --proto files and their imports in `DIR` (repeatable; default .)")
	fs.StringArrayVar(&f.src.DescriptorSets, "descriptor-set", nil, "decode with the types of a serialized FileDescriptorSet `FILE` (repeatable)")
}

// A topicType is a topic with the descriptor of its messages.
type topicType struct {
	topic string
	codec string
	md    protoreflect.MessageDescriptor
}

// resolver finds the message type of topics: in the user's schema files
// first, then in the directory of the system.
type resolver struct {
	files *protoregistry.Files // nil without schema flags
	types typeResolver
	dir   *plexo.Directory
}

func newResolver(ctx context.Context, p *plexo.Plexus, f schemaFlags) (*resolver, error) {
	files, err := schemas.Load(ctx, f.src)
	if err != nil {
		return nil, err
	}
	dir, err := p.WatchDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return &resolver{files: files, types: newTypeResolver(files), dir: dir}, nil
}

// Close stops following the directory.
func (r *resolver) Close() error { return r.dir.Close() }

// guessMessage is the full message name a topic has when its namespace is
// its proto package and its message has no alias: the name without codec.
func guessMessage(topic string) protoreflect.FullName {
	return protoreflect.FullName(topic[:strings.LastIndexByte(topic, '.')])
}

// resolve returns the type of topic, waiting up to wait for the directory
// to name it when the schema flags do not.
func (r *resolver) resolve(ctx context.Context, topic string, wait time.Duration) (topicType, error) {
	codec, ok := mcapio.TopicCodec(topic)
	if !ok {
		return topicType{}, fmt.Errorf("%q is not a plexo topic name (<namespace>.<Message>.proto or .json)", topic)
	}
	tt := topicType{topic: topic, codec: codec}
	if r.files != nil {
		if md, err := schemas.FindMessage(r.files, guessMessage(topic)); err == nil {
			tt.md = md
			return tt, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var name protoreflect.FullName
	for {
		changed := r.dir.Changed()
		if info, ok := r.dir.Lookup(topic); ok && info.Message != "" {
			name = info.Message
			if info.Codec != "" {
				tt.codec = info.Codec
			}
			break
		}
		select {
		case <-changed:
			continue
		case <-ctx.Done():
		}
		if r.files != nil {
			return tt, nothingCame(fmt.Errorf("topic %s: no type %s in the given schemas, and not in the directory within %v", topic, guessMessage(topic), wait))
		}
		return tt, nothingCame(fmt.Errorf("topic %s: not in the directory within %v (no process announces it; give --proto or --descriptor-set to use it anyway)", topic, wait))
	}
	if r.files != nil {
		if md, err := schemas.FindMessage(r.files, name); err == nil {
			tt.md = md
			return tt, nil
		}
	}
	md, err := r.dir.Descriptor(ctx, name)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return tt, nothingCame(fmt.Errorf("topic %s: no process shared the descriptor of %s within %v", topic, name, wait))
		}
		return tt, fmt.Errorf("topic %s: descriptor of %s: %w", topic, name, err)
	}
	tt.md = md
	return tt, nil
}
