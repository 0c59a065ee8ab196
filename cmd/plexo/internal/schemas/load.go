package schemas

import (
	"context"
	"fmt"
	"os"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/plexo-go/plexo"
)

// Sources are the command-line places a user gives message types in.
type Sources struct {
	// Protos are .proto files to compile, named relative to an import path.
	Protos []string
	// ImportPaths are the directories Protos and their imports are found in
	// (-I); the current directory when empty.
	ImportPaths []string
	// DescriptorSets are files holding serialized FileDescriptorSets, such as
	// `buf build -o` or `protoc --descriptor_set_out --include_imports` write.
	DescriptorSets []string
}

// Empty reports whether no source is given.
func (s Sources) Empty() bool { return len(s.Protos) == 0 && len(s.DescriptorSets) == 0 }

// Load compiles and reads every source into one registry. It returns nil,
// nil when s is empty.
func Load(ctx context.Context, s Sources) (*protoregistry.Files, error) {
	if s.Empty() {
		return nil, nil
	}
	set := new(descriptorpb.FileDescriptorSet)
	for _, path := range s.DescriptorSets {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("descriptor set: %w", err)
		}
		var one descriptorpb.FileDescriptorSet
		if err := proto.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("descriptor set %s: %w", path, err)
		}
		set.File = mergeFiles(set.File, one.File)
	}
	if len(s.Protos) > 0 {
		imports := s.ImportPaths
		if len(imports) == 0 {
			imports = []string{"."}
		}
		c := protocompile.Compiler{
			Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
				&protocompile.SourceResolver{ImportPaths: imports},
				linkedResolver{},
			}),
		}
		compiled, err := c.Compile(ctx, s.Protos...)
		if err != nil {
			return nil, fmt.Errorf("compile %v: %w", s.Protos, err)
		}
		for _, fd := range compiled {
			for _, f := range plexo.FileDescriptorSetOf(fd).File {
				set.File = mergeFiles(set.File, []*descriptorpb.FileDescriptorProto{f})
			}
		}
	}
	files, err := FilesOf(set)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	return files, nil
}

// linkedResolver serves plexo's own schemas (plexo/v1/options.proto) from the
// descriptors linked into the command, so -I need not name them.
type linkedResolver struct{}

// FindFileByPath implements protocompile.Resolver.
func (linkedResolver) FindFileByPath(path string) (protocompile.SearchResult, error) {
	fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
	if err != nil {
		return protocompile.SearchResult{}, err
	}
	return protocompile.SearchResult{Desc: fd}, nil
}

// mergeFiles appends the files of add whose names dst lacks.
func mergeFiles(dst, add []*descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
	for _, f := range add {
		dup := false
		for _, g := range dst {
			if g.GetName() == f.GetName() {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, f)
		}
	}
	return dst
}
