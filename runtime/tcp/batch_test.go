package tcp

import (
	"fmt"
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
