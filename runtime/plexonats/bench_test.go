package plexonats_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/plexonats"
)

var bytesTopic = plexo.NewTopic[*wrapperspb.BytesValue]("bench.v1.Blob.proto")

// benchWindow bounds the messages in flight, so that neither side's
// subscriber falls behind into NATS's slow-consumer drops.
const benchWindow = 512

// BenchmarkPublishToHandler measures one message from a publish call to a
// handler in another connection through an embedded NATS server on
// loopback: plexo over NATS beside nats.go used directly (proto.Marshal,
// Publish, a callback that proto.Unmarshals), with the same payload.
func BenchmarkPublishToHandler(b *testing.B) {
	for _, size := range []int{128, 4096} {
		n := size - 2 // a tag byte and a one-byte length
		if size > 129 {
			n = size - 3 // a two-byte length
		}
		msg := wrapperspb.Bytes(make([]byte, n))
		if n := proto.Size(msg); n != size {
			b.Fatalf("encoded size %d, want %d", n, size)
		}
		b.Run(fmt.Sprintf("nats.go/%dB", size), func(b *testing.B) { benchNATS(b, msg, false) })
		b.Run(fmt.Sprintf("nats.go+headers/%dB", size), func(b *testing.B) { benchNATS(b, msg, true) })
		b.Run(fmt.Sprintf("plexo/%dB", size), func(b *testing.B) { benchPlexo(b, msg) })
	}
}

// benchNATS is the baseline; with headers, it publishes the same header
// plexo does, as a nats.go user would, with a fresh header each time.
func benchNATS(b *testing.B, msg *wrapperspb.BytesValue, headers bool) {
	s := startServer(b, -1)
	pub, sub := connect(b, s.ClientURL()), connect(b, s.ClientURL())
	w := newWindow()
	if _, err := sub.Subscribe("plexo."+bytesTopic.Name(), func(m *nats.Msg) {
		var v wrapperspb.BytesValue
		if err := proto.Unmarshal(m.Data, &v); err != nil {
			b.Error(err)
		}
		w.done()
	}); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		b.Fatal(err)
	}
	var seq uint64
	run(b, w, func() error {
		data, err := proto.Marshal(msg)
		if err != nil {
			return err
		}
		if !headers {
			return pub.Publish("plexo."+bytesTopic.Name(), data)
		}
		seq++
		m := nats.NewMsg("plexo." + bytesTopic.Name())
		m.Header.Set(plexonats.HeaderID, "1f2e3d4c5b6a7988:"+strconv.FormatUint(seq, 10))
		m.Data = data
		return pub.PublishMsg(m)
	})
}

func benchPlexo(b *testing.B, msg *wrapperspb.BytesValue) {
	s := startServer(b, -1)
	pub, sub := newPlexus(b), newPlexus(b)
	attach(b, pub, connect(b, s.ClientURL()))
	attach(b, sub, connect(b, s.ClientURL()))
	w := newWindow()
	if _, err := bytesTopic.Subscribe(context.Background(), sub, func(context.Context, *wrapperspb.BytesValue) {
		w.done()
	}, plexo.WithQueueSize(2*benchWindow)); err != nil {
		b.Fatal(err)
	}
	waitForInterest(b, pub, bytesTopic.Name())
	ctx := context.Background()
	run(b, w, func() error { return bytesTopic.Publish(ctx, pub, msg) })
}

// run publishes b.N messages, at most benchWindow ahead of the handler
// (when it gets there, it waits until half of them are handled), and waits
// for the handler to see them all. Beside the time, it reports the CPU time
// of the whole process (both clients and the embedded server) per message:
// the work done, whatever the scheduling; both sides run on two cores.
func run(b *testing.B, w *window, publish func() error) {
	b.ReportAllocs()
	cpu := processCPU()
	b.ResetTimer()
	for i := range int64(b.N) {
		if i-w.received.Load() >= benchWindow {
			w.wait(i-benchWindow/2, nil)
		}
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	if !w.wait(int64(b.N), time.After(30*time.Second)) {
		b.Fatalf("handler saw %d of %d messages", w.received.Load(), b.N)
	}
	b.StopTimer()
	if cpu >= 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}
