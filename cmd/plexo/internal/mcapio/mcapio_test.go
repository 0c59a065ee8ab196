package mcapio_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

const (
	readingTopic = plexotestv1.ReadingTopicName
	noteTopic    = plexotestv1.NoteTopicName
)

// record writes n readings and n notes, interleaved, and returns the file
// and what was written in order.
func record(t testing.TB, n int) (string, []proto.Message) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.mcap")
	w, err := mcapio.Create(path, mcapio.WriterOptions{ChunkSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	add := func(topic, codec string, m proto.Message) {
		md := m.ProtoReflect().Descriptor()
		set, err := schemas.MarshalSetOf(md)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddChannel(topic, codec, md.FullName(), set); err != nil {
			t.Fatal(err)
		}
	}
	add(readingTopic, mcapio.CodecProto, &plexotestv1.Reading{})
	add(noteTopic, mcapio.CodecJSON, &plexotestv1.Note{})
	add(readingTopic, mcapio.CodecProto, &plexotestv1.Reading{}) // twice: no-op
	var sent []proto.Message
	for i := range n {
		r := &plexotestv1.Reading{Sensor: "s", Value: float64(i) / 2, Seq: uint64(i), Level: plexotestv1.Level_LEVEL_LOW,
			Place: &plexotestv1.Reading_Place{Room: "lab", Shelf: int32(i)}, At: timestamppb.New(time.Unix(int64(i), 5)), Tags: []string{"a"}}
		b, _ := proto.Marshal(r)
		if ok, err := w.Write(readingTopic, b, uint64(1000+2*i)); !ok || err != nil {
			t.Fatalf("write: %v %v", ok, err)
		}
		note := &plexotestv1.Note{Text: "hello", Seq: uint64(i)}
		j, _ := protojson.Marshal(note)
		if ok, err := w.Write(noteTopic, j, uint64(1001+2*i)); !ok || err != nil {
			t.Fatalf("write: %v %v", ok, err)
		}
		sent = append(sent, r, note)
	}
	if ok, err := w.Write("unknown.v1.X.proto", []byte{1}, 5); ok || err != nil {
		t.Fatalf("write on an unknown topic = %v, %v; want false, nil", ok, err)
	}
	if m, b := w.Counts(); m != uint64(2*n) || b == 0 {
		t.Fatalf("counts = %d, %d", m, b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := w.Write(readingTopic, nil, 1); !errors.Is(err, mcapio.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	return path, sent
}

func TestRoundTrip(t *testing.T) {
	path, sent := record(t, 50)

	// The mcap library's own reader: header, schemas, channels, chunks.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := mcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Header.Library != "plexo" || len(info.ChunkIndexes) < 2 || info.Statistics.MessageCount != 100 {
		t.Fatalf("header %+v, %d chunks, %d messages", info.Header, len(info.ChunkIndexes), info.Statistics.MessageCount)
	}
	if len(info.Schemas) != 2 {
		t.Fatalf("%d schemas, want 2", len(info.Schemas))
	}
	for _, s := range info.Schemas {
		if s.Encoding != "protobuf" {
			t.Errorf("schema %s encoding %q", s.Name, s.Encoding)
		}
	}
	encodings := map[string]string{}
	for _, ch := range info.Channels {
		encodings[ch.Topic] = ch.MessageEncoding
	}
	if encodings[readingTopic] != "protobuf" || encodings[noteTopic] != "json" {
		t.Fatalf("channel encodings %v", encodings)
	}

	file, err := mcapio.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if got := strings.Join(file.Topics(), ","); got != noteTopic+","+readingTopic {
		t.Fatalf("topics %s", got)
	}
	if start, end, count := file.Bounds(); start != 1000 || end != 1099 || count != 100 {
		t.Fatalf("bounds %d %d %d", start, end, count)
	}
	var i int
	err = file.Messages(nil, func(ch *mcapio.Channel, m *mcap.Message) error {
		dm := dynamicpb.NewMessage(ch.Message)
		var err error
		if ch.Codec == mcapio.CodecJSON {
			err = protojson.Unmarshal(m.Data, dm)
		} else {
			err = proto.Unmarshal(m.Data, dm)
		}
		if err != nil {
			return err
		}
		want := sent[i]
		got := want.ProtoReflect().New().Interface()
		b, _ := proto.Marshal(dm)
		if err := proto.Unmarshal(b, got); err != nil {
			return err
		}
		if !proto.Equal(got, want) {
			t.Errorf("message %d on %s = %v, want %v", i, ch.Topic, got, want)
		}
		if m.LogTime != uint64(1000+i) {
			t.Errorf("message %d: log time %d", i, m.LogTime)
		}
		i++
		return nil
	})
	if err != nil || i != len(sent) {
		t.Fatalf("read %d of %d: %v", i, len(sent), err)
	}

	stop := errors.New("stop")
	n := 0
	err = file.Messages([]string{readingTopic}, func(ch *mcapio.Channel, _ *mcap.Message) error {
		if ch.Topic != readingTopic {
			t.Errorf("filtered walk gave %s", ch.Topic)
		}
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("stopped walk: n = %d, err = %v", n, err)
	}
}

func TestBadFiles(t *testing.T) {
	good, _ := record(t, 50)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	corrupt := append([]byte(nil), data...)
	for i := 200; i < len(corrupt)/2; i += 7 {
		corrupt[i] ^= 0xa5
	}
	cases := map[string][]byte{
		"empty":     {},
		"not-mcap":  []byte("hello, this is not an MCAP file at all\n"),
		"truncated": data[:len(data)/2],
		"magic":     data[:8],
		"corrupt":   corrupt,
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".mcap")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			file, err := mcapio.Open(path)
			if err == nil {
				err = file.Messages(nil, func(*mcapio.Channel, *mcap.Message) error { return nil })
				file.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
	if _, err := mcapio.Open(filepath.Join(dir, "missing.mcap")); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestForeignFile reads a file of another writer: channels that are not
// plexo topics or carry no protobuf schema are skipped with a reason.
func TestForeignFile(t *testing.T) {
	var buf bytes.Buffer
	w, err := mcap.NewWriter(&buf, &mcap.WriterOptions{Chunked: true, Compression: mcap.CompressionLZ4})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := schemas.MarshalSetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteHeader(&mcap.Header{Profile: "ros2", Library: "other"}))
	must(w.WriteSchema(&mcap.Schema{ID: 7, Name: "plexotest.v1.Reading", Encoding: "protobuf", Data: set}))
	must(w.WriteSchema(&mcap.Schema{ID: 8, Name: "x", Encoding: "ros2msg", Data: []byte("int32 a")}))
	must(w.WriteChannel(&mcap.Channel{ID: 1, Topic: "/camera", MessageEncoding: "protobuf", SchemaID: 7}))
	must(w.WriteChannel(&mcap.Channel{ID: 2, Topic: "plexotest.v1.Reading.proto", MessageEncoding: "protobuf", SchemaID: 7}))
	must(w.WriteChannel(&mcap.Channel{ID: 3, Topic: "a.b.X.proto", MessageEncoding: "cdr", SchemaID: 8}))
	must(w.WriteChannel(&mcap.Channel{ID: 4, Topic: "a.b.Y.proto", MessageEncoding: "protobuf", SchemaID: 8}))
	b, _ := proto.Marshal(&plexotestv1.Reading{Seq: 9})
	for ch := uint16(1); ch <= 4; ch++ {
		must(w.WriteMessage(&mcap.Message{ChannelID: ch, LogTime: uint64(ch), Data: b}))
	}
	must(w.Close())
	path := filepath.Join(t.TempDir(), "foreign.mcap")
	must(os.WriteFile(path, buf.Bytes(), 0o644))
	file, err := mcapio.Open(path)
	must(err)
	defer file.Close()
	if got := strings.Join(file.Topics(), ","); got != "plexotest.v1.Reading.proto" {
		t.Fatalf("topics %q; skipped %v", got, file.Skipped)
	}
	if len(file.Skipped) != 3 {
		t.Fatalf("skipped %v", file.Skipped)
	}
	n := 0
	must(file.Messages(nil, func(ch *mcapio.Channel, m *mcap.Message) error { n++; return nil }))
	if n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

// TestFlushedWhileOpen checks that what was written stays readable in the
// file while the writer is still open: chunks close on the flush interval.
func TestFlushedWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open.mcap")
	w, err := mcapio.Create(path, mcapio.WriterOptions{FlushInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	set, _ := schemas.MarshalSetOf((&plexotestv1.Reading{}).ProtoReflect().Descriptor())
	if err := w.AddChannel(readingTopic, mcapio.CodecProto, "plexotest.v1.Reading", set); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		b, _ := proto.Marshal(&plexotestv1.Reading{Seq: uint64(i)})
		if _, err := w.Write(readingTopic, b, uint64(time.Now().UnixNano())); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := mcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.Messages(mcap.UsingIndex(false))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, _, err := it.NextInto(nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Logf("end: %v", err)
			}
			break
		}
		n++
	}
	if n < 9 {
		t.Fatalf("%d of 10 messages readable while open", n)
	}
	if w.Size() <= 0 {
		t.Fatal("size 0")
	}
}

func TestTopicCodec(t *testing.T) {
	for topic, want := range map[string]string{
		"a.b.C.proto": "proto", "a.C.json": "json", "C.proto": "proto", "a_1.B2.proto": "proto", "a.b-c.proto": "proto",
		"": "", "proto": "", ".proto": "", "a..b.proto": "", "a.b.C.capnp": "", "/camera": "", "a.b c.proto": "",
	} {
		got, ok := mcapio.TopicCodec(topic)
		if got != want || ok != (want != "") {
			t.Errorf("TopicCodec(%q) = %q, %v; want %q", topic, got, ok, want)
		}
	}
}

// TestWriteAllocs asserts the steady write path allocates nothing of its
// own, nor in the mcap library, chunks closing and compressing included,
// once warmed up.
func TestWriteAllocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allocs.mcap")
	w, err := mcapio.Create(path, mcapio.WriterOptions{FlushInterval: time.Hour, ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	set, _ := schemas.MarshalSetOf((&plexotestv1.Blob{}).ProtoReflect().Descriptor())
	if err := w.AddChannel(plexotestv1.BlobTopicName, mcapio.CodecProto, "plexotest.v1.Blob", set); err != nil {
		t.Fatal(err)
	}
	payload, _ := proto.Marshal(&plexotestv1.Blob{Data: make([]byte, 125)})
	for i := range 20000 { // warm up: buffers grow to their steady size
		w.Write(plexotestv1.BlobTopicName, payload, uint64(i))
	}
	ts := uint64(20000)
	allocs := testing.AllocsPerRun(1000, func() {
		ts++
		if _, err := w.Write(plexotestv1.BlobTopicName, payload, ts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per write, want 0", allocs)
	}
}
