package main

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// Shape of the benchmark schema: benchFiles files of benchMessagesPerFile
// messages each.
const (
	benchFiles           = 10
	benchMessagesPerFile = 100
)

// benchSchema returns a schema of benchFiles*benchMessagesPerFile messages
// in one package, with the fields of typical telemetry messages: scalars,
// a repeated field, a well-known type, an enum, a reference to another
// message, and now and then a map or a oneof.
func benchSchema() map[string]string {
	files := make(map[string]string)
	for f := range benchFiles {
		var b strings.Builder
		fmt.Fprintf(&b, `syntax = "proto3";
package bench.v1;
import "google/protobuf/timestamp.proto";
option go_package = "example.com/bench/v1;benchv1";
enum Kind%d { KIND%d_UNSPECIFIED = 0; KIND%d_A = 1; KIND%d_B = 2; }
`, f, f, f, f)
		for m := range benchMessagesPerFile {
			n := f*benchMessagesPerFile + m
			fmt.Fprintf(&b, "message Message%d {\n", n)
			fmt.Fprintf(&b, "  string id = 1;\n  double value = 2;\n  int64 count = 3;\n  bool flag = 4;\n")
			fmt.Fprintf(&b, "  repeated string tags = 5;\n  google.protobuf.Timestamp at = 6;\n  Kind%d kind = 7;\n", f)
			if m > 0 {
				fmt.Fprintf(&b, "  Message%d previous = 8;\n", n-1)
			}
			if m%10 == 0 {
				fmt.Fprintf(&b, "  map<string, int64> counters = 9;\n")
			}
			if m%5 == 0 {
				fmt.Fprintf(&b, "  oneof source { string probe = 10; int32 channel = 11; }\n")
			}
			fmt.Fprintf(&b, "}\n")
		}
		files[fmt.Sprintf("bench/v1/bench%d.proto", f)] = b.String()
	}
	return files
}

// BenchmarkGenerate runs protoc-gen-plexo and, as the baseline, protoc-gen-go
// on the same request for a 1,000-message schema. Each iteration is a whole
// plugin run without the process: decode the request, build the protogen
// plugin, generate (formatted code included) and encode the response.
//
//	go test ./cmd/protoc-gen-plexo -run '^$' -bench BenchmarkGenerate -benchmem -count 5
func BenchmarkGenerate(b *testing.B) {
	files := benchSchema()
	names := make([]string, 0, len(files))
	for f := range benchFiles {
		names = append(names, fmt.Sprintf("bench/v1/bench%d.proto", f))
	}
	in := request(b, "paths=source_relative", compile(b, sources(files), names...))

	b.Run("plexo", func(b *testing.B) {
		for b.Loop() {
			benchRun(b, in, options(), generate)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(benchFiles*benchMessagesPerFile), "ns/message")
	})
	b.Run("protoc-gen-go", func(b *testing.B) {
		for b.Loop() {
			benchRun(b, in, protocGenGoOptions(), protocGenGo)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(benchFiles*benchMessagesPerFile), "ns/message")
	})
}

// benchRun is one plugin run of f on the encoded request in.
func benchRun(b *testing.B, in []byte, opts protogen.Options, f func(*protogen.Plugin) error) {
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		b.Fatal(err)
	}
	gen, err := opts.New(req)
	if err != nil {
		b.Fatal(err)
	}
	if err := f(gen); err != nil {
		b.Fatal(err)
	}
	resp := gen.Response()
	if resp.Error != nil || len(resp.File) != benchFiles {
		b.Fatalf("error %q, %d files", resp.GetError(), len(resp.File))
	}
	if _, err := proto.Marshal(resp); err != nil {
		b.Fatal(err)
	}
}

// protocGenGoOptions and protocGenGo do what protoc-gen-go's main does.
func protocGenGoOptions() protogen.Options {
	var flags flag.FlagSet
	return protogen.Options{ParamFunc: flags.Set}
}

func protocGenGo(gen *protogen.Plugin) error {
	for _, f := range gen.Files {
		if f.Generate {
			internal_gengo.GenerateFile(gen, f)
		}
	}
	gen.SupportedFeatures = internal_gengo.SupportedFeatures
	gen.SupportedEditionsMinimum = internal_gengo.SupportedEditionsMinimum
	gen.SupportedEditionsMaximum = internal_gengo.SupportedEditionsMaximum
	return nil
}
