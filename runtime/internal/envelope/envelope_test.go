package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo/runtime/internal/envelope"
	plexov1 "github.com/plexo-go/plexo/schema/plexo/v1"
)

var cases = []struct {
	name     string
	topic    string
	payload  []byte
	origin   uint64
	sequence uint64
}{
	{"full", "brewery.sensors.v1.Temperature.proto", []byte{0x0d, 1, 2, 3, 4}, 0xdeadbeefcafef00d, 42},
	{"empty payload", "a.B.proto", nil, 1, 1},
	{"zero origin and sequence", "a.B.json", []byte(`{"x":1}`), 0, 0},
	{"large sequence", "t", bytes.Repeat([]byte{7}, 300), 1 << 63, 1<<64 - 1},
}

func TestAppendMatchesProtoMarshal(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := envelope.Append(nil, c.topic, c.payload, c.origin, c.sequence)
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&plexov1.Envelope{
				Topic: c.topic, Payload: c.payload, Origin: c.origin, Sequence: c.sequence,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Append = %x, proto.Marshal = %x", got, want)
			}
			if n := envelope.Size(c.topic, c.payload, c.origin, c.sequence); n != len(got) {
				t.Fatalf("Size = %d, encoded %d bytes", n, len(got))
			}
		})
	}
}

func TestDecodeRoundTripsAndReadsProtoMarshal(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := proto.Marshal(&plexov1.Envelope{Topic: c.topic, Payload: c.payload, Origin: c.origin, Sequence: c.sequence})
			if err != nil {
				t.Fatal(err)
			}
			// An unknown field from a newer writer is skipped.
			b = append(b, 0x2a, 0x02, 'h', 'i') // field 5, bytes "hi"
			e, err := envelope.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Topic) != c.topic || !bytes.Equal(e.Payload, c.payload) || e.Origin != c.origin || e.Sequence != c.sequence {
				t.Fatalf("Decode = %+v, want %+v", e, c)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no topic", envelope.Append(nil, "", []byte{1}, 1, 1)},
		{"truncated topic", []byte{0x0a, 0x05, 'a', 'b'}},
		{"truncated origin", []byte{0x0a, 0x01, 'a', 0x19, 1, 2}},
		{"bad tag", []byte{0x80}},
		{"topic as varint", []byte{0x08, 0x01}},
		{"field zero", []byte{0x00, 0x01}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := envelope.Decode(c.in); !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("Decode(%x) = %v, want ErrMalformed", c.in, err)
			}
		})
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	payload := make([]byte, 128)
	if n := testing.AllocsPerRun(100, func() {
		buf = envelope.Append(buf[:0], "brewery.sensors.v1.Temperature.proto", payload, 1, 2)
	}); n != 0 {
		t.Fatalf("Append allocated %v times per call", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range cases {
		f.Add(envelope.Append(nil, c.topic, c.payload, c.origin, c.sequence))
	}
	f.Add([]byte{0x0a, 0x05, 'a', 'b'})
	f.Add([]byte{0x80})
	f.Add([]byte{0x0a, 0x01, 'a', 0x0a, 0x01, 'b'})                            // repeated topic
	f.Add([]byte{0x0a, 0x01, 'a', 0x28, 0x01, 0x12, 0x01, 0x02})               // unknown field between
	f.Add([]byte{0x20, 0x01, 0x0a, 0x01, 'a'})                                 // out of order
	f.Add(append([]byte{0x0a, 0x80, 0x01}, bytes.Repeat([]byte{'t'}, 128)...)) // long topic
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Decode(b)
		// The fast path for the canonical encoding agrees with the general
		// decoder on every input.
		g, gerr := envelope.DecodeGeneral(b)
		if (err == nil) != (gerr == nil) || !bytes.Equal(e.Topic, g.Topic) || !bytes.Equal(e.Payload, g.Payload) || e.Origin != g.Origin || e.Sequence != g.Sequence {
			t.Fatalf("Decode = %+v, %v; the general decoder gives %+v, %v", e, err, g, gerr)
		}
		if err != nil {
			if !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := envelope.Decode(envelope.Append(nil, string(e.Topic), e.Payload, e.Origin, e.Sequence))
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		if !bytes.Equal(again.Topic, e.Topic) || !bytes.Equal(again.Payload, e.Payload) || again.Origin != e.Origin || again.Sequence != e.Sequence {
			t.Fatalf("round trip changed %+v into %+v", e, again)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	enc := envelope.Append(nil, "bench.v1.Payload.proto", make([]byte, 131), 0xdeadbeefcafef00d, 123456)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeGeneral(b *testing.B) {
	enc := envelope.Append(nil, "bench.v1.Payload.proto", make([]byte, 131), 0xdeadbeefcafef00d, 123456)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.DecodeGeneral(enc); err != nil {
			b.Fatal(err)
		}
	}
}
