// Command protoc-gen-plexo is a protoc plugin that generates typed plexo
// topics for the messages of .proto files: for a message M, the constant
// MTopicName, the plexo.Topic MTopic, and the functions PublishM and
// SubscribeM, in a file <name>_plexo.pb.go beside the <name>.pb.go of
// protoc-gen-go, in the same Go package.
//
// With buf, add it to buf.gen.yaml next to protoc-gen-go, with the same out
// and opt:
//
//	plugins:
//	  - local: protoc-gen-go
//	    out: gen
//	    opt: paths=source_relative
//	  - local: protoc-gen-plexo
//	    out: gen
//	    opt: paths=source_relative
//
// With protoc:
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	  --plexo_out=. --plexo_opt=paths=source_relative foo.proto
//
// It accepts protoc-gen-go's path parameters (paths=, module=, M<file>=<go
// package>) and no others. Install it with
//
//	go install github.com/plexo-go/plexo/cmd/protoc-gen-plexo@latest
//
// See package [github.com/plexo-go/plexo/cmd/protoc-gen-plexo/internal/genplexo]
// for the rules, and schema/plexo/v1/options.proto for the options.
package main

import (
	"flag"
	"fmt"
	"os"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/protoc-gen-plexo/internal/genplexo"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Fprintln(os.Stdout, "protoc-gen-plexo v"+plexo.Version)
		os.Exit(0)
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "protoc-gen-plexo is a protoc plugin: run it through protoc or buf (see go doc github.com/plexo-go/plexo/cmd/protoc-gen-plexo), or with --version")
		os.Exit(2)
	}
	options().Run(generate)
}

// options returns the protogen options of the plugin. It has no parameters
// of its own: protogen handles paths=, module= and M<file>=<package>, and
// the empty FlagSet rejects everything else.
func options() protogen.Options {
	var flags flag.FlagSet
	return protogen.Options{ParamFunc: func(name, value string) error {
		if err := flags.Set(name, value); err != nil {
			return fmt.Errorf("unknown parameter %q: protoc-gen-plexo accepts only paths=, module= and M<file>=<go package> (%w)", name, err)
		}
		return nil
	}}
}

// generate declares what the plugin supports and runs the generator.
func generate(gen *protogen.Plugin) error {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2024
	return genplexo.Generate(gen)
}
