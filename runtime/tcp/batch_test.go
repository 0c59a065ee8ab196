package tcp

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/internal/envelope"
)

// batchRecorder is a BatchHost that records, in order, each hand-over of
// messages (their sequences) and each interest report.
type batchRecorder struct {
	nullHost
	events []string
}

func (h *batchRecorder) Deliver(msg *plexo.Message) {
	h.events = append(h.events, fmt.Sprintf("deliver %d", msg.Sequence))
}

func (h *batchRecorder) DeliverBatch(msgs []plexo.Message) bool {
	e := "batch"
	for _, m := range msgs {
		e += fmt.Sprintf(" %d", m.Sequence)
	}
	h.events = append(h.events, e)
	return false
}

func (h *batchRecorder) SetInterest(topic string, hops int) {
	h.events = append(h.events, fmt.Sprintf("interest %s %d", topic, hops))
}

// dataFrame returns a DATA frame with the given sequence.
func dataFrame(seq uint64) []byte {
	body := envelope.Append([]byte{kindData}, "a.B.proto", []byte("payload"), 9, seq)
	return appendFrame(nil, kindData, body[1:])
}

// A connection's reader hands the DATA frames that one read brought to a
// BatchHost together, at most maxHandOver at a time, and keeps their order
// with the control frames between them.
func TestReaderHandsOverTheDataFramesOfAReadTogether(t *testing.T) {
	_, p := registeredPeer(t)
	h := &batchRecorder{}
	p.host = h
	var fs [][]byte
	for seq := uint64(1); seq <= 3; seq++ {
		fs = append(fs, dataFrame(seq))
	}
	fs = append(fs, appendSubscribeFrame(nil, 1, "c.D.proto"))
	for seq := uint64(4); seq < 4+maxHandOver+2; seq++ {
		fs = append(fs, dataFrame(seq))
	}
	if err := p.handleBatch(h, frames(fs...)); err != nil {
		t.Fatal(err)
	}
	full := "batch"
	for seq := 4; seq < 4+maxHandOver; seq++ {
		full += fmt.Sprintf(" %d", seq)
	}
	want := []string{"batch 1 2 3", "interest c.D.proto 1", full, fmt.Sprintf("batch %d %d", 4+maxHandOver, 5+maxHandOver)}
	if !slices.Equal(h.events, want) {
		t.Errorf("the Host saw\n%q\nwant\n%q", h.events, want)
	}
	if got := p.counters().Received; got != 3+maxHandOver+2 {
		t.Errorf("Received = %d, want %d", got, 3+maxHandOver+2)
	}
}

// The DATA frames before a malformed one reach the Host before the
// connection ends.
func TestReaderHandsOverTheFramesBeforeABadOne(t *testing.T) {
	_, p := registeredPeer(t)
	h := &batchRecorder{}
	p.host = h
	err := p.handleBatch(h, frames(dataFrame(1), dataFrame(2), appendFrame(nil, kindData, []byte{0xff})))
	if err == nil {
		t.Fatal("a malformed DATA frame did not end the connection")
	}
	if want := []string{"batch 1 2"}; !slices.Equal(h.events, want) {
		t.Errorf("the Host saw %q, want %q", h.events, want)
	}
}

// A Host that does not take batches gets each message through Deliver.
func TestReaderDeliversOneByOneToAPlainHost(t *testing.T) {
	_, p := registeredPeer(t)
	h := &batchRecorder{}
	var plain struct{ plexo.Host }
	plain.Host = h // hides DeliverBatch
	p.host, _ = plexo.Host(plain).(plexo.BatchHost)
	if err := p.handleBatch(plain, frames(dataFrame(1), dataFrame(2))); err != nil {
		t.Fatal(err)
	}
	if want := []string{"deliver 1", "deliver 2"}; !slices.Equal(h.events, want) {
		t.Errorf("the Host saw %q, want %q", h.events, want)
	}
}

// oneFrameReader returns one frame per Read, as a request/reply brings.
type oneFrameReader struct{ frames [][]byte }

func (r *oneFrameReader) Read(b []byte) (int, error) {
	if len(r.frames) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.frames[0])
	r.frames[0] = r.frames[0][n:]
	if len(r.frames[0]) == 0 {
		r.frames = r.frames[1:]
	}
	return n, nil
}

// A reader that handles its lone frames itself hands each buffer straight
// back to itself (reuse), and still reads every frame intact.
func TestFrameReaderReusesTheBufferOfALoneFrame(t *testing.T) {
	src := &oneFrameReader{}
	for seq := uint64(1); seq <= 100; seq++ {
		src.frames = append(src.frames, dataFrame(seq))
	}
	fr := newFrameReader(src, 1<<20, 1024)
	for seq := uint64(1); seq <= 100; seq++ {
		b, err := fr.nextBatch()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(dataFrame(seq)) {
			t.Fatalf("frame %d: got %q", seq, b)
		}
		fr.reuse(b)
	}
	if _, err := fr.nextBatch(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the frames: %v, want io.EOF", err)
	}
	if fr.made > 2 || len(fr.free) != 0 {
		t.Errorf("%d buffers made, %d released through the channel; want at most 2 and none", fr.made, len(fr.free))
	}
}

// countingHost is a BatchHost that checks the batches it is handed.
type countingHost struct {
	nullHost
	t        *testing.T
	messages int
}

func (h *countingHost) DeliverBatch(msgs []plexo.Message) bool {
	if len(msgs) == 0 || len(msgs) > maxHandOver {
		h.t.Fatalf("a batch of %d messages, want 1..%d", len(msgs), maxHandOver)
	}
	h.messages += len(msgs)
	return false
}

// FuzzHandleBatch feeds the frames of a read, whatever their bytes, to a
// connection's reader: it hands over at most one message per DATA frame, in
// batches of at most maxHandOver, and never panics.
func FuzzHandleBatch(f *testing.F) {
	f.Add(frames(dataFrame(1), dataFrame(2), appendSubscribeFrame(nil, 1, "c.D.proto"), dataFrame(3)))
	f.Add(frames(dataFrame(1), appendFrame(nil, kindData, []byte{0xff}), dataFrame(2)))
	f.Add(frames(appendStringFrame(nil, kindPing, ""), appendStringFrame(nil, kindClose, "bye"), dataFrame(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		end, _ := completeFrames(b, 1<<20)
		_, p := registeredPeer(t)
		h := &countingHost{t: t}
		p.host = h
		_ = p.handleBatch(h, b[:end])
		data := 0
		for rest := b[:end]; len(rest) > 0; {
			var kind byte
			kind, _, rest = splitFrame(rest)
			if kind == kindData {
				data++
			}
		}
		if h.messages > data {
			t.Fatalf("%d messages handed over from %d DATA frames", h.messages, data)
		}
	})
}
