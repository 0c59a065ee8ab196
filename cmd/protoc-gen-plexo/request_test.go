package main

import (
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/protoutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Directories of the golden inputs and of plexo's own schemas, relative to
// this package; both are import paths of the compiled schemas.
const (
	goldenDir = "../../testdata/golden"
	schemaDir = "../../schema"
)

// compile compiles the named .proto files in-process with protocompile,
// finding them through resolver, plexo's schemas and the well-known types.
func compile(tb testing.TB, resolver protocompile.Resolver, names ...string) []protoreflect.FileDescriptor {
	tb.Helper()
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			resolver,
			&protocompile.SourceResolver{ImportPaths: []string{schemaDir}},
		}),
	}
	files, err := compiler.Compile(context.Background(), names...)
	if err != nil {
		tb.Fatalf("compiling %v: %v", names, err)
	}
	fds := make([]protoreflect.FileDescriptor, len(files))
	for i, f := range files {
		fds[i] = f
	}
	return fds
}

// sources returns a resolver of in-memory .proto files, by name.
func sources(files map[string]string) protocompile.Resolver {
	return &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(files)}
}

// request returns, encoded as protoc would send it, a request to generate
// files with the parameter param and no compiler version.
func request(tb testing.TB, param string, files []protoreflect.FileDescriptor) []byte {
	tb.Helper()
	req := &pluginpb.CodeGeneratorRequest{}
	if param != "" {
		req.Parameter = proto.String(param)
	}
	seen := make(map[string]bool)
	var add func(protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) { // dependencies first, as protoc sends them
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protoutil.ProtoFromFileDescriptor(fd))
	}
	for _, fd := range files {
		req.FileToGenerate = append(req.FileToGenerate, fd.Path())
		add(fd)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// run does what the plugin's main does with an encoded request and returns
// the response: decode it, apply the parameters, generate. A non-nil error
// means the plugin would exit non-zero before writing a response, as it
// does for unknown parameters.
func run(in []byte) (*pluginpb.CodeGeneratorResponse, error) {
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		return nil, err
	}
	gen, err := options().New(req)
	if err != nil {
		return nil, err
	}
	if err := generate(gen); err != nil {
		gen.Error(err) // as protogen.Options.Run reports it
	}
	return gen.Response(), nil
}

// mustRun is run for requests that must produce a response without error.
func mustRun(tb testing.TB, in []byte) *pluginpb.CodeGeneratorResponse {
	tb.Helper()
	resp, err := run(in)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.Error != nil {
		tb.Fatalf("plugin error: %s", resp.GetError())
	}
	return resp
}

// checkFeatures fails tb unless resp declares what the plugin supports.
func checkFeatures(tb testing.TB, resp *pluginpb.CodeGeneratorResponse) {
	tb.Helper()
	want := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	if resp.GetSupportedFeatures() != want {
		tb.Errorf("supported features = %b, want %b", resp.GetSupportedFeatures(), want)
	}
	if min, max := resp.GetMinimumEdition(), resp.GetMaximumEdition(); min != int32(descriptorpb.Edition_EDITION_PROTO2) || max != int32(descriptorpb.Edition_EDITION_2024) {
		tb.Errorf("editions = %v…%v, want PROTO2…2024", descriptorpb.Edition(min), descriptorpb.Edition(max))
	}
}
