package plexo

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	plexov1 "github.com/plexo-go/plexo/schema/plexo/v1"
)

// FuzzDecodeAnnouncement feeds a peer's directory announcement decoder
// arbitrary bytes: it must refuse what breaks its rules, never panic, and
// accept only entries that keep them.
func FuzzDecodeAnnouncement(f *testing.F) {
	valid, _ := proto.Marshal(&plexov1.Directory{TtlMillis: 31000, Entries: []*plexov1.DirectoryEntry{
		{Topic: "brewery.sensors.v1.Temperature.proto", Message: "brewery.sensors.v1.Temperature", Codec: "proto", Publishes: true},
		{Topic: "org.podcastindex.podping.hivewriter.PodpingWrite.capnp", Codec: "capnp", Subscribes: true},
	}})
	closing, _ := proto.Marshal(&plexov1.Directory{Closing: true})
	part, _ := proto.Marshal(&plexov1.Directory{Part: 1, Parts: 3, Generation: 7, Entries: []*plexov1.DirectoryEntry{
		{Topic: "a.B.json", Codec: "json", Publishes: true},
	}})
	for _, seed := range [][]byte{valid, closing, part, nil, {0xff}, {0x0a, 0x05, 0x0a, 0x03, 'a', ' ', 'b'}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ann, err := decodeAnnouncement(data)
		if err != nil {
			return
		}
		if len(ann.GetEntries()) > maxAnnouncedEntries {
			t.Fatalf("accepted %d entries", len(ann.GetEntries()))
		}
		if ann.GetParts() > maxAnnouncementParts || ann.GetParts() > 1 && ann.GetPart() >= ann.GetParts() {
			t.Fatalf("accepted part %d of %d", ann.GetPart(), ann.GetParts())
		}
		for _, e := range ann.GetEntries() {
			if !ValidTopicName(e.GetTopic()) || ReservedTopic(e.GetTopic()) || !validCodecName(e.GetCodec()) {
				t.Fatalf("accepted entry %v", e)
			}
			if n := protoreflect.FullName(e.GetMessage()); n != "" && !n.IsValid() {
				t.Fatalf("accepted message name %q", n)
			}
		}
	})
}

// FuzzDecodeDescriptorSet feeds the decoder of shared descriptor sets
// arbitrary bytes and names: it must refuse, never panic, and return only a
// descriptor of the very message asked for.
func FuzzDecodeDescriptorSet(f *testing.F) {
	for _, m := range []proto.Message{&wrapperspb.StringValue{}, &timestamppb.Timestamp{}, &plexov1.Directory{}} {
		md := m.ProtoReflect().Descriptor()
		set, _ := proto.Marshal(fileDescriptorSet(md))
		f.Add(set, string(md.FullName()))
		f.Add(set, "no.such.Message")
		f.Add(set[:len(set)/2], string(md.FullName()))
	}
	f.Add([]byte{0xff, 0x01}, "a.B")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		md, set, err := decodeDescriptorSet(data, protoreflect.FullName(name))
		if err != nil {
			if md != nil || set != nil {
				t.Fatal("an error with a result")
			}
			return
		}
		if md.FullName() != protoreflect.FullName(name) {
			t.Fatalf("asked for %s, got %s", name, md.FullName())
		}
	})
}

func TestFileDescriptorSetIsSelfContainedAndOrdered(t *testing.T) {
	set := fileDescriptorSet((&plexov1.Directory{}).ProtoReflect().Descriptor())
	var paths []string
	seen := make(map[string]bool)
	for _, f := range set.GetFile() {
		for _, dep := range f.GetDependency() {
			if !seen[dep] {
				t.Fatalf("%s comes before its import %s", f.GetName(), dep)
			}
		}
		seen[f.GetName()] = true
		paths = append(paths, f.GetName())
	}
	want := []string{"google/protobuf/descriptor.proto", "plexo/v1/options.proto", "plexo/v1/directory.proto"}
	if len(paths) != len(want) {
		t.Fatalf("files %v, want %v", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Fatalf("files %v, want %v", paths, want)
		}
	}
}
