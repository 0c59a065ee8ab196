package schemas_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

func readingSet(t testing.TB) []byte {
	t.Helper()
	data, err := schemas.MarshalSetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSetRoundTrip(t *testing.T) {
	set := schemas.SetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	var names []string
	for _, f := range set.File {
		names = append(names, f.GetName())
	}
	// Dependencies first, the message's own file last.
	want := []string{"google/protobuf/timestamp.proto", "google/protobuf/descriptor.proto", "plexo/v1/options.proto", "plexotest/v1/plexotest.proto"}
	if !slices.Equal(names, want) {
		t.Fatalf("files = %v, want %v", names, want)
	}
	md, err := schemas.MessageFromSet(readingSet(t), "plexotest.v1.Reading")
	if err != nil {
		t.Fatal(err)
	}
	// The decoded descriptor reads what the generated type wrote.
	in := &plexotestv1.Reading{Sensor: "s", Value: 1.5, Level: plexotestv1.Level_LEVEL_HIGH, Place: &plexotestv1.Reading_Place{Room: "r", Shelf: 3}}
	b, _ := proto.Marshal(in)
	dm := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(b, dm); err != nil {
		t.Fatal(err)
	}
	if got := dm.Get(md.Fields().ByName("place")).Message().Get(md.Fields().ByName("place").Message().Fields().ByName("shelf")).Int(); got != 3 {
		t.Fatalf("place.shelf = %d, want 3", got)
	}
}

func TestSetAnyOrderAndErrors(t *testing.T) {
	set := schemas.SetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	slices.Reverse(set.File)
	files, err := schemas.FilesOf(set)
	if err != nil {
		t.Fatalf("reversed order: %v", err)
	}
	if _, err := schemas.FindMessage(files, "plexotest.v1.Nope"); !errors.Is(err, schemas.ErrNotFound) {
		t.Fatalf("unknown message: err = %v, want ErrNotFound", err)
	}
	if _, err := schemas.FindMessage(files, "plexotest.v1.Level"); !errors.Is(err, schemas.ErrNotFound) {
		t.Fatalf("an enum: err = %v, want ErrNotFound", err)
	}

	cases := map[string]*descriptorpb.FileDescriptorSet{
		"missing import": {File: []*descriptorpb.FileDescriptorProto{{
			Name: proto.String("a.proto"), Dependency: []string{"b.proto"}, Syntax: proto.String("proto3"),
		}}},
		"import cycle": {File: []*descriptorpb.FileDescriptorProto{
			{Name: proto.String("a.proto"), Dependency: []string{"b.proto"}},
			{Name: proto.String("b.proto"), Dependency: []string{"a.proto"}},
		}},
		"file twice": {File: []*descriptorpb.FileDescriptorProto{{Name: proto.String("a.proto")}, {Name: proto.String("a.proto")}}},
		"bad field type": {File: []*descriptorpb.FileDescriptorProto{{
			Name: proto.String("a.proto"), Package: proto.String("x"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M"), Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("f"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".x.Missing"),
			}}}},
		}}},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := schemas.FilesOf(set); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := schemas.ParseSet([]byte("not a descriptor set \xff")); err == nil {
		t.Fatal("garbage: no error")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "acme"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := `syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";
import "plexo/v1/options.proto";
message Ping { option (plexo.v1.codec) = "json"; google.protobuf.Timestamp at = 1; int32 n = 2; }
`
	if err := os.WriteFile(filepath.Join(dir, "acme", "ping.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := schemas.Load(context.Background(), schemas.Sources{Protos: []string{"acme/ping.proto"}, ImportPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	md, err := schemas.FindMessage(files, "acme.v1.Ping")
	if err != nil {
		t.Fatal(err)
	}
	if md.Fields().ByName("at").Message().FullName() != "google.protobuf.Timestamp" {
		t.Fatal("at is not a Timestamp")
	}

	setFile := filepath.Join(dir, "reading.binpb")
	if err := os.WriteFile(setFile, readingSet(t), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err = schemas.Load(context.Background(), schemas.Sources{DescriptorSets: []string{setFile}, Protos: []string{"acme/ping.proto"}, ImportPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []protoreflect.FullName{"acme.v1.Ping", "plexotest.v1.Reading"} {
		if _, err := schemas.FindMessage(files, name); err != nil {
			t.Errorf("both sources: %v", err)
		}
	}

	if _, err := schemas.Load(context.Background(), schemas.Sources{Protos: []string{"acme/missing.proto"}, ImportPaths: []string{dir}}); err == nil {
		t.Error("missing .proto: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.proto"), []byte("syntax = \"proto3\"; message {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := schemas.Load(context.Background(), schemas.Sources{Protos: []string{"bad.proto"}, ImportPaths: []string{dir}}); err == nil {
		t.Error("bad .proto: no error")
	}
	if files, err := schemas.Load(context.Background(), schemas.Sources{}); files != nil || err != nil {
		t.Errorf("no sources = %v, %v; want nil, nil", files, err)
	}
}

// FuzzMessageFromSet feeds arbitrary bytes, as found in an MCAP schema
// record or sent by a peer, to the descriptor decoding path: errors are
// fine, panics are not, and a success names the asked message.
func FuzzMessageFromSet(f *testing.F) {
	f.Add(readingSet(f), "plexotest.v1.Reading")
	f.Add(readingSet(f), "plexotest.v1.Reading.Place")
	f.Add([]byte{}, "x.M")
	f.Add([]byte("\x0a\x03\x0a\x01a"), "a")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		md, err := schemas.MessageFromSet(data, protoreflect.FullName(name))
		if err != nil {
			return
		}
		if string(md.FullName()) != name {
			t.Fatalf("asked %q, got %q", name, md.FullName())
		}
		_, _ = schemas.MarshalSetOf(md)
	})
}
