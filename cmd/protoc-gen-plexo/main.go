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
// or, from a clone of plexo (before a release, or to use the clone's
// changes), with go install ./cmd/protoc-gen-plexo in the clone.
//
// Run by hand, it does two things:
//
//	protoc-gen-plexo --version            # prints its version
//	protoc-gen-plexo --write-options DIR  # writes DIR/plexo/v1/options.proto
//
// --write-options writes the plexo/v1/options.proto this plugin was built
// with, creating the directories, replacing an older copy, and naming the
// file on standard error, so that a schema can import "plexo/v1/options.proto"
// with DIR on the import path (-I DIR with protoc; with buf, DIR is the
// input directory, with DIR/plexo excluded from generation, since the options'
// Go code is in package github.com/plexo-go/plexo/schema/plexo/v1).
//
// See package [github.com/plexo-go/plexo/cmd/protoc-gen-plexo/internal/genplexo]
// for the rules, and schema/plexo/v1/options.proto for the options.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/protoc-gen-plexo/internal/genplexo"
	"github.com/plexo-go/plexo/schema"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
	}
	options().Run(generate)
}

// usage is what the plugin says when run by hand with arguments it does not
// take.
const usage = `protoc-gen-plexo is a protoc plugin: run it through protoc or buf (see go doc github.com/plexo-go/plexo/cmd/protoc-gen-plexo). By hand it takes:
  protoc-gen-plexo --version            print the version
  protoc-gen-plexo --write-options DIR  write DIR/plexo/v1/options.proto, the options this plugin was built with`

// command runs the plugin by hand, with the command-line arguments args
// (without the program name), and returns the exit code.
func command(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && args[0] == "--version":
		fmt.Fprintln(stdout, "protoc-gen-plexo v"+plexo.Version)
		return 0
	case len(args) == 2 && args[0] == "--write-options":
		path, err := writeOptions(args[1])
		if err != nil {
			fmt.Fprintln(stderr, "protoc-gen-plexo:", err)
			return 1
		}
		fmt.Fprintln(stderr, "protoc-gen-plexo: wrote", path)
		return 0
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// writeOptions writes the embedded plexo/v1/options.proto under dir and
// returns its path.
func writeOptions(dir string) (string, error) {
	data, err := schema.FS.ReadFile(schema.OptionsPath)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, filepath.FromSlash(schema.OptionsPath))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
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
