package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/plexo-go/plexo/runtime/internal/envelope"
)

// chunkSize is a size larger than the buffers of the tests' frame readers.
const chunkSize = 64 << 10

// A frameIter reads frames one at a time from a frameReader, releasing
// each batch when it moves to the next, as the dispatcher does.
type frameIter struct {
	fr          *frameReader
	batch, rest []byte
}

func newFrameIter(in []byte, bufSize, max int) *frameIter {
	return &frameIter{fr: newFrameReader(bytes.NewReader(in), max, bufSize)}
}

// next returns the next frame's kind and body, valid until the following
// call.
func (it *frameIter) next() (kind byte, body []byte, err error) {
	if len(it.rest) == 0 {
		if it.batch != nil {
			it.fr.release(it.batch)
			it.batch = nil
		}
		b, err := it.fr.nextBatch()
		if err != nil {
			return 0, nil, err
		}
		it.batch, it.rest = b, b
	}
	kind, body, it.rest = splitFrame(it.rest)
	return kind, body, nil
}

func TestFrameReader(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3*chunkSize+7)
	data := appendFrame(nil, kindData, envelope.Append(nil, "a.B.proto", []byte{1, 2}, 9, 1))
	for _, c := range []struct {
		name    string
		in      []byte
		bufSize int
		max     int
		want    [][]byte // kind byte followed by body, per frame
		wantErr error
	}{
		{"one frame", data, 64, 1 << 20, [][]byte{data[4:]}, io.EOF},
		{"several frames", frames(appendFrame(nil, kindPing, nil), appendStringFrame(nil, kindSubscribe, "t")), 64, 1 << 20,
			[][]byte{{kindPing}, {kindSubscribe, 't'}}, io.EOF},
		{"frame larger than the buffer", appendFrame(nil, kindData, big), 16, 1 << 20, [][]byte{append([]byte{kindData}, big...)}, io.EOF},
		{"empty stream", nil, 16, 1 << 20, nil, io.EOF},
		{"truncated header", []byte{0, 0}, 16, 1 << 20, nil, io.ErrUnexpectedEOF},
		{"truncated body", data[:len(data)-1], 64, 1 << 20, nil, io.ErrUnexpectedEOF},
		{"truncated large body", appendFrame(nil, kindData, big)[:100], 16, 1 << 20, nil, io.ErrUnexpectedEOF},
		{"empty frame", []byte{0, 0, 0, 0}, 16, 1 << 20, nil, ErrProtocol},
		{"oversized", []byte{0xff, 0xff, 0xff, 0xff, 1}, 16, 1 << 20, nil, ErrFrameTooLarge},
		{"just over the limit", appendFrame(nil, kindData, make([]byte, 100)), 16, 100, nil, ErrFrameTooLarge},
		{"at the limit", appendFrame(nil, kindData, make([]byte, 99)), 16, 100, [][]byte{append([]byte{kindData}, make([]byte, 99)...)}, io.EOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			fr := newFrameIter(c.in, c.bufSize, c.max)
			for i, want := range c.want {
				kind, body, err := fr.next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if got := append([]byte{kind}, body...); !bytes.Equal(got, want) {
					t.Fatalf("frame %d = %x, want %x", i, got, want)
				}
			}
			if _, _, err := fr.next(); !errors.Is(err, c.wantErr) {
				t.Fatalf("after the frames: %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestFrameReaderBatchesInFlight(t *testing.T) {
	// Batches held by another goroutine are not overwritten by the reads
	// that follow: the reader never fills a buffer not yet released.
	var in []byte
	var want [][]byte
	for i := range 2000 {
		body := bytes.Repeat([]byte{byte(i)}, i%300)
		in = appendFrame(in, kindData, body)
		want = append(want, body)
	}
	for _, size := range []int{16, 512, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			fr := newFrameReader(iotest.HalfReader(bytes.NewReader(in)), 1<<20, size)
			batches := make(chan []byte, readBuffers)
			go func() {
				defer close(batches)
				for {
					b, err := fr.nextBatch()
					if err != nil {
						return
					}
					batches <- b
				}
			}()
			var got [][]byte
			for b := range batches {
				for rest := b; len(rest) > 0; {
					var body []byte
					_, body, rest = splitFrame(rest)
					got = append(got, bytes.Clone(body))
				}
				fr.release(b)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d = %x, want %x", i, got[i], want[i])
				}
			}
		})
	}
}

func TestOversizedFrameIsNotAllocated(t *testing.T) {
	// A header claiming 1 GiB from a stream that then ends: the reader
	// fails without allocating the claimed size.
	hdr := binary.BigEndian.AppendUint32(nil, 1<<30)
	fr := newFrameIter(append(hdr, kindData), 16, 1<<30)
	_, _, err := fr.next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("next = %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(fr.fr.buf) > chunkSize {
		t.Fatalf("reader allocated %d bytes for a frame whose bytes never came", cap(fr.fr.buf))
	}
	// Bytes arriving one read at a time grow the buffer only as they come.
	fr = &frameIter{fr: newFrameReader(iotest.OneByteReader(io.LimitReader(io.MultiReader(bytes.NewReader(hdr), zeros{}), 4+3*chunkSize)), 1<<30, 16)}
	if _, _, err := fr.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("next = %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(fr.fr.buf) > 2*(4+3*chunkSize) {
		t.Fatalf("reader allocated %d bytes for a frame of which %d bytes came", cap(fr.fr.buf), 4+3*chunkSize)
	}
	var fse *FrameSizeError
	fr = newFrameIter(hdr, 16, 1<<20)
	if _, _, err := fr.next(); !errors.As(err, &fse) || fse.Size != 1<<30 || fse.Limit != 1<<20 {
		t.Fatalf("next = %v, want a FrameSizeError naming size and limit", err)
	}
	if !strings.Contains(fse.Error(), "1073741824") || !strings.Contains(fse.Error(), "1048576") {
		t.Errorf("error %q does not name the size and the limit", fse)
	}
}

func TestHello(t *testing.T) {
	good := hello{version: protocolVersion, peerID: 0x0102030405060708, maxFrame: 1 << 24, plexo: true}
	enc := appendHello(nil, good)
	if len(enc) != helloSize {
		t.Fatalf("hello is %d bytes, want %d", len(enc), helloSize)
	}
	if got, err := decodeHello(enc); err != nil || got != good {
		t.Fatalf("decodeHello = %+v, %v; want %+v", got, err, good)
	}
	mod := func(f func(b []byte)) []byte {
		b := appendHello(nil, good)
		f(b)
		return b
	}
	for _, c := range []struct {
		name        string
		in          []byte
		wantVersion bool
	}{
		{"short", enc[:10], false},
		{"long", append(appendHello(nil, good), 0), false},
		{"http", []byte("GET / HTTP/1.1\r\nHost:"), false},
		{"bad magic", mod(func(b []byte) { b[0] = 'X' }), false},
		{"other version", mod(func(b []byte) { b[5] = protocolVersion + 1 }), true},
		{"tiny frames", mod(func(b []byte) { binary.BigEndian.PutUint32(b[16:], 10) }), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeHello(c.in)
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("decodeHello = %v, want ErrHandshake", err)
			}
			if errors.Is(err, ErrVersion) != c.wantVersion {
				t.Fatalf("decodeHello = %v; wraps ErrVersion: %v, want %v", err, !c.wantVersion, c.wantVersion)
			}
		})
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrame(nil, kindData, envelope.Append(nil, "a.B.proto", []byte{1, 2}, 9, 1)), 64)
	f.Add(frames(appendFrame(nil, kindPing, nil), appendStringFrame(nil, kindSubscribe, "t")), 16)
	f.Add([]byte{0, 0, 0, 0}, 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, 16)
	f.Add(appendFrame(nil, kindData, make([]byte, 300)), 16)
	f.Fuzz(func(t *testing.T, in []byte, bufSize int) {
		const max = 1 << 12
		fr := newFrameIter(in, 16+abs(bufSize)%512, max)
		total := 0
		for {
			kind, body, err := fr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, io.EOF) && total != len(in) {
					t.Fatalf("clean EOF after %d of %d bytes", total, len(in))
				}
				return
			}
			if len(body)+1 > max {
				t.Fatalf("returned a %d-byte body over the limit", len(body))
			}
			n := int(binary.BigEndian.Uint32(in[total:]))
			if n != len(body)+1 || in[total+4] != kind || !bytes.Equal(in[total+5:total+4+n], body) {
				t.Fatalf("frame at %d decoded wrongly", total)
			}
			total += 4 + n
		}
	})
}

func FuzzHello(f *testing.F) {
	f.Add(appendHello(nil, hello{version: protocolVersion, peerID: 7, maxFrame: 1 << 24}))
	f.Add([]byte("GET / HTTP/1.1\r\nHost:"))
	f.Add(appendHello(nil, hello{version: 9, peerID: 7, maxFrame: 1}))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := decodeHello(in)
		if err != nil {
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("error %v does not wrap ErrHandshake", err)
			}
			return
		}
		// The flags are ignored; everything else re-encodes identically.
		out := appendHello(nil, h)
		copy(out[6:8], in[6:8])
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted hello %x re-encodes as %x", in, out)
		}
	})
}

// zeros reads an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestProtocolExamples checks the byte examples in PROTOCOL.md.
func TestProtocolExamples(t *testing.T) {
	hexOf := func(b []byte) string {
		var s []string
		for _, c := range b {
			s = append(s, fmt.Sprintf("%02x", c))
		}
		return strings.Join(s, " ")
	}
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{
		appendHello(nil, hello{version: protocolVersion, peerID: 0x0102030405060708, maxFrame: 16 << 20}),
		appendSubscribeFrame(nil, 1, "a.B.proto"),
		appendFrame(nil, kindData, envelope.Append(nil, "a.B.proto", []byte{8, 1}, 1, 1)),
	} {
		if flat := strings.Join(strings.Fields(string(doc)), " "); !strings.Contains(flat, hexOf(b)) {
			t.Errorf("PROTOCOL.md lacks the example %s", hexOf(b))
		}
	}
}
