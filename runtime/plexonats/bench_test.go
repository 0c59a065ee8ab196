package plexonats_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
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
	var received atomic.Int64
	if _, err := sub.Subscribe("plexo."+bytesTopic.Name(), func(m *nats.Msg) {
		var v wrapperspb.BytesValue
		if err := proto.Unmarshal(m.Data, &v); err != nil {
			b.Error(err)
		}
		received.Add(1)
	}); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		b.Fatal(err)
	}
	var seq uint64
	run(b, &received, func() error {
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
	var received atomic.Int64
	if _, err := bytesTopic.Subscribe(context.Background(), sub, func(context.Context, *wrapperspb.BytesValue) {
		received.Add(1)
	}, plexo.WithQueueSize(2*benchWindow)); err != nil {
		b.Fatal(err)
	}
	waitForInterest(b, pub, bytesTopic.Name())
	ctx := context.Background()
	run(b, &received, func() error { return bytesTopic.Publish(ctx, pub, msg) })
}

// run publishes b.N messages, at most benchWindow ahead of the handler,
// and waits for the handler to see them all.
func run(b *testing.B, received *atomic.Int64, publish func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for int64(i)-received.Load() >= benchWindow {
			time.Sleep(10 * time.Microsecond)
		}
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("handler saw %d of %d messages", received.Load(), b.N)
		}
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
}
