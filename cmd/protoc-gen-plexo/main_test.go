package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// TestSchemaErrors runs the plugin on schemas with mistakes: each must fail
// the run with a message that names the file and the message (or option) at
// fault, and generate nothing.
func TestSchemaErrors(t *testing.T) {
	const header = "syntax = \"proto3\";\nimport \"plexo/v1/options.proto\";\n"
	tests := []struct {
		name  string
		files map[string]string // the files to generate, in name order
		want  []string          // substrings of the error
	}{
		{
			name: "alias collides with a message name",
			files: map[string]string{"brew/a.proto": header + `package brew;
				message Vent { option (plexo.v1.alias) = "Valve"; }
				message Valve {}`},
			want: []string{"brew/a.proto: message brew.Valve:", `topic name "brew.Valve.proto"`, "message brew.Vent in brew/a.proto"},
		},
		{
			name: "same topic name across files",
			files: map[string]string{
				"brew/a.proto": header + `package brew; message Temperature {}`,
				"brew/b.proto": header + `package other; option (plexo.v1.namespace) = "brew"; message Temperature {}`,
			},
			want: []string{"brew/b.proto: message other.Temperature:", `"brew.Temperature.proto"`, "message brew.Temperature in brew/a.proto"},
		},
		{
			name: "nested alias collides with a top-level message",
			files: map[string]string{"brew/a.proto": header + `package brew;
				message Outer { message Inner { option (plexo.v1.alias) = "Inner"; } }
				message Inner {}`},
			want: []string{"brew/a.proto: message brew.Inner:", "message brew.Outer.Inner in brew/a.proto"},
		},
		{
			name:  "namespace with an empty part",
			files: map[string]string{"brew/a.proto": header + `package brew; option (plexo.v1.namespace) = "acme..brew"; message M {}`},
			want:  []string{"brew/a.proto:", `(plexo.v1.namespace) "acme..brew"`, "empty dotted part"},
		},
		{
			name:  "namespace with a dash",
			files: map[string]string{"brew/a.proto": header + `package brew; option (plexo.v1.namespace) = "brew-house"; message M {}`},
			want:  []string{"brew/a.proto:", `"brew-house"`, `'-' is not allowed`},
		},
		{
			name:  "empty namespace",
			files: map[string]string{"brew/a.proto": header + `package brew; option (plexo.v1.namespace) = ""; message M {}`},
			want:  []string{"brew/a.proto:", `(plexo.v1.namespace) ""`, "empty"},
		},
		{
			name:  "alias with a trailing dot",
			files: map[string]string{"brew/a.proto": header + `package brew; message Vent { option (plexo.v1.alias) = "Vent."; }`},
			want:  []string{"brew/a.proto: message brew.Vent:", `(plexo.v1.alias) "Vent."`, "empty dotted part"},
		},
		{
			name:  "alias with a space",
			files: map[string]string{"brew/a.proto": header + `package brew; message Outer { message Vent { option (plexo.v1.alias) = "Vent Valve"; } }`},
			want:  []string{"brew/a.proto: message brew.Outer.Vent:", `(plexo.v1.alias) "Vent Valve"`, `' ' is not allowed`},
		},
		{
			name:  "empty alias",
			files: map[string]string{"brew/a.proto": header + `package brew; message Vent { option (plexo.v1.alias) = ""; }`},
			want:  []string{"brew/a.proto: message brew.Vent:", `(plexo.v1.alias) ""`},
		},
		{
			name:  "unknown message codec",
			files: map[string]string{"brew/a.proto": header + `package brew; message Vent { option (plexo.v1.codec) = "xml"; }`},
			want:  []string{"brew/a.proto: message brew.Vent:", `(plexo.v1.codec) "xml"`, "unknown codec"},
		},
		{
			name:  "unknown file codec",
			files: map[string]string{"brew/a.proto": header + `package brew; option (plexo.v1.default_codec) = "capnp"; message Vent {}`},
			want:  []string{"brew/a.proto:", `(plexo.v1.default_codec) "capnp"`, "unknown codec"},
		},
		{
			name:  "generated identifier collides with a message",
			files: map[string]string{"brew/a.proto": header + `package brew; message Foo {} message FooTopic {}`},
			want:  []string{"brew/a.proto: message brew.Foo:", "generated identifier FooTopic collides with message brew.FooTopic in brew/a.proto"},
		},
		{
			name: "generated identifier collides with a message of another file of the Go package",
			files: map[string]string{
				"brew/a.proto": header + `package brew; option go_package = "example.com/brew"; message Foo {}`,
				"brew/b.proto": header + `package brew; option go_package = "example.com/brew"; message PublishFoo {}`,
			},
			want: []string{"brew/a.proto: message brew.Foo:", "generated identifier PublishFoo collides with message brew.PublishFoo in brew/b.proto"},
		},
		{
			name:  "generated identifier collides with an enum",
			files: map[string]string{"brew/a.proto": header + `package brew; message Foo {} enum FooTopicName { X = 0; }`},
			want:  []string{"brew/a.proto: message brew.Foo:", "generated identifier FooTopicName collides with enum brew.FooTopicName"},
		},
		{
			name:  "generated identifier collides with a oneof wrapper",
			files: map[string]string{"brew/a.proto": header + `package brew; message SubscribeOuter { oneof o { string inner = 1; } } message Outer { message Inner {} }`},
			want:  []string{"brew/a.proto: message brew.Outer.Inner:", "generated identifier SubscribeOuter_Inner collides with the oneof wrapper of field brew.SubscribeOuter.inner"},
		},
		{
			name:  "two generated identifiers collide",
			files: map[string]string{"brew/a.proto": header + `package brew; message BarTopic {} message PublishBar {}`},
			want:  []string{"brew/a.proto: message brew.PublishBar:", "generated identifier PublishBarTopic collides with an identifier generated for message brew.BarTopic in brew/a.proto"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, src := range tt.files {
				if !strings.Contains(src, "go_package") {
					tt.files[name] = src + "\noption go_package = \"example.com/brew\";\n"
				}
			}
			names := slices.Sorted(maps.Keys(tt.files))
			resp, err := run(request(t, "", compile(t, sources(tt.files), names...)))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Error == nil {
				t.Fatalf("no error; generated %d files", len(resp.File))
			}
			if len(resp.File) != 0 {
				t.Errorf("generated %d files despite the error", len(resp.File))
			}
			for _, want := range tt.want {
				if !strings.Contains(resp.GetError(), want) {
					t.Errorf("error %q\ndoes not contain %q", resp.GetError(), want)
				}
			}
		})
	}
}

// TestParameters checks where files go and what package they declare for
// the parameters protoc-gen-go takes, that unknown parameters are rejected,
// and that the header carries the compiler version when the request has one.
func TestParameters(t *testing.T) {
	files := map[string]string{"brew/v1/temp.proto": `syntax = "proto3";
		package brew.v1;
		option go_package = "example.com/mod/gen/brew/v1;brewv1";
		message Temperature {}`}
	tests := []struct {
		param    string
		wantName string
		wantPkg  string
	}{
		{"", "example.com/mod/gen/brew/v1/temp_plexo.pb.go", "package brewv1"},
		{"paths=import", "example.com/mod/gen/brew/v1/temp_plexo.pb.go", "package brewv1"},
		{"paths=source_relative", "brew/v1/temp_plexo.pb.go", "package brewv1"},
		{"module=example.com/mod", "gen/brew/v1/temp_plexo.pb.go", "package brewv1"},
		{"Mbrew/v1/temp.proto=example.com/other;otherpb,paths=import", "example.com/other/temp_plexo.pb.go", "package otherpb"},
	}
	for _, tt := range tests {
		t.Run("param="+tt.param, func(t *testing.T) {
			resp := mustRun(t, request(t, tt.param, compile(t, sources(files), "brew/v1/temp.proto")))
			if len(resp.File) != 1 {
				t.Fatalf("generated %d files, want 1", len(resp.File))
			}
			f := resp.File[0]
			if f.GetName() != tt.wantName {
				t.Errorf("file name %q, want %q", f.GetName(), tt.wantName)
			}
			if !strings.Contains(f.GetContent(), "\n"+tt.wantPkg+"\n") {
				t.Errorf("content does not declare %q:\n%s", tt.wantPkg, f.GetContent())
			}
		})
	}

	for _, param := range []string{"foo=bar", "paths=source_relative,plugins=grpc", "verbose"} {
		t.Run("unknown/"+param, func(t *testing.T) {
			_, err := run(request(t, param, compile(t, sources(files), "brew/v1/temp.proto")))
			if err == nil || !strings.Contains(err.Error(), "unknown parameter") {
				t.Errorf("err = %v, want an unknown parameter error", err)
			}
		})
	}

	t.Run("compiler version", func(t *testing.T) {
		in := request(t, "", compile(t, sources(files), "brew/v1/temp.proto"))
		req := &pluginpb.CodeGeneratorRequest{}
		if err := proto.Unmarshal(in, req); err != nil {
			t.Fatal(err)
		}
		req.CompilerVersion = &pluginpb.Version{Major: proto.Int32(33), Minor: proto.Int32(1), Patch: proto.Int32(0), Suffix: proto.String("rc2")}
		in, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		resp := mustRun(t, in)
		const want = "// versions:\n// \tprotoc-gen-plexo v0.1.0\n// \tprotoc           v33.1.0-rc2\n// source: brew/v1/temp.proto\n"
		if !strings.Contains(resp.File[0].GetContent(), want) {
			t.Errorf("header lacks %q:\n%s", want, resp.File[0].GetContent())
		}
	})
}

// TestNoPackage checks the topic names of a file without a proto package.
func TestNoPackage(t *testing.T) {
	files := map[string]string{"bare.proto": `syntax = "proto3";
		option go_package = "example.com/bare";
		message Reading { message Part {} }`}
	resp := mustRun(t, request(t, "", compile(t, sources(files), "bare.proto")))
	for _, want := range []string{`ReadingTopicName = "Reading.proto"`, `Reading_PartTopicName = "Reading.Part.proto"`} {
		if !strings.Contains(resp.File[0].GetContent(), want) {
			t.Errorf("output lacks %s", want)
		}
	}
}
