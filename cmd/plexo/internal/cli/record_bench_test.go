package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// benchCompression chooses the chunk compression of BenchmarkRecordTCP.
var benchCompression = flag.String("compression", "zstd", "chunk compression of BenchmarkRecordTCP/record: zstd, lz4 or none")

// blob128 is a Blob whose encoding is 128 bytes.
var blob128 = &plexotestv1.Blob{Data: make([]byte, 126)}

// tcpPair returns a publishing Plexus and a receiving one, connected over
// TCP on 127.0.0.1, both lossless (blocking) so that rates compare whole
// deliveries.
func tcpPair(b *testing.B) (pub, sub *plexo.Plexus) {
	b.Helper()
	ctx := context.Background()
	l, err := tcp.Listen(ctx, "127.0.0.1:0", tcp.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		b.Fatal(err)
	}
	pub = plexo.New(plexo.WithDescriptorSharing(false))
	if err := pub.Attach(l); err != nil {
		b.Fatal(err)
	}
	d, err := tcp.Dial(ctx, l.Addr().String(), tcp.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		b.Fatal(err)
	}
	sub = plexo.New(plexo.WithDescriptorSharing(false))
	if err := sub.Attach(d); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sub.Close()
		pub.Close()
	})
	return pub, sub
}

// publishAll publishes b.N blobs once the subscriber's interest arrived
// and waits until count reaches b.N, then reports messages per second.
func publishAll(b *testing.B, pub *plexo.Plexus, count func() uint64) {
	b.Helper()
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pub.WaitForInterest(wctx, plexotestv1.BlobTopicName); err != nil {
		b.Fatal(err)
	}
	if proto.Size(blob128) != 128 {
		b.Fatalf("blob is %d bytes", proto.Size(blob128))
	}
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := plexotestv1.PublishBlob(ctx, pub, blob128); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for count() < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages arrived", count(), b.N)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkRecordTCP compares plexo record's write path (a raw subscription
// writing zstd-chunked MCAP) with a typed subscriber, on 128-byte messages
// over TCP on loopback. BENCHMARKS.md has the figures.
func BenchmarkRecordTCP(b *testing.B) {
	b.Run("typed", func(b *testing.B) {
		pub, sub := tcpPair(b)
		var n atomic.Uint64
		s, err := plexotestv1.BlobTopic.Subscribe(context.Background(), sub, func(context.Context, *plexotestv1.Blob) { n.Add(1) },
			plexo.WithOverflow(plexo.OverflowBlock), plexo.WithQueueSize(8192))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		publishAll(b, pub, n.Load)
	})
	b.Run("record", func(b *testing.B) {
		pub, sub := tcpPair(b)
		w, err := mcapio.Create(filepath.Join(b.TempDir(), "bench.mcap"), mcapio.WriterOptions{Compression: *benchCompression})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		md := blob128.ProtoReflect().Descriptor()
		set, err := schemas.MarshalSetOf(md)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.AddChannel(plexotestv1.BlobTopicName, mcapio.CodecProto, md.FullName(), set); err != nil {
			b.Fatal(err)
		}
		rec := &recorder{w: w, stop: func() {}}
		s, err := sub.SubscribeRaw(context.Background(), plexotestv1.BlobTopicName, rec.record,
			plexo.WithOverflow(plexo.OverflowBlock), plexo.WithQueueSize(8192))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		publishAll(b, pub, func() uint64 { m, _ := w.Counts(); return m })
		if p := rec.failed.Load(); p != nil {
			b.Fatal(*p)
		}
	})
}

// TestRecordAllocs asserts that the recorder's handler allocates nothing per
// message on its steady path, the mcap library and zstd chunks included.
func TestRecordAllocs(t *testing.T) {
	w, err := mcapio.Create(filepath.Join(t.TempDir(), "allocs.mcap"), mcapio.WriterOptions{ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	md := blob128.ProtoReflect().Descriptor()
	set, _ := schemas.MarshalSetOf(md)
	if err := w.AddChannel(plexotestv1.BlobTopicName, mcapio.CodecProto, md.FullName(), set); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{w: w, maxBytes: 1 << 40, stop: func() {}}
	payload, _ := proto.Marshal(blob128)
	msg := &plexo.RawMessage{Topic: plexotestv1.BlobTopicName, Codec: "proto", Payload: payload}
	ctx := context.Background()
	for range 20000 {
		rec.record(ctx, msg)
	}
	if allocs := testing.AllocsPerRun(1000, func() { rec.record(ctx, msg) }); allocs != 0 {
		t.Fatalf("%v allocs per recorded message, want 0", allocs)
	}
	if p := rec.failed.Load(); p != nil {
		t.Fatal(*p)
	}
}

// TestRecordLogsTheReceiveTime: a message's log time is when the Plexus
// received it, however long it then waited for the recorder.
func TestRecordLogsTheReceiveTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "times.mcap")
	w, err := mcapio.Create(path, mcapio.WriterOptions{Compression: "none"})
	if err != nil {
		t.Fatal(err)
	}
	md := blob128.ProtoReflect().Descriptor()
	set, _ := schemas.MarshalSetOf(md)
	if err := w.AddChannel(plexotestv1.BlobTopicName, mcapio.CodecProto, md.FullName(), set); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{w: w, stop: func() {}}
	payload, _ := proto.Marshal(blob128)
	received := []time.Time{time.Unix(1_700_000_000, 5), time.Unix(1_700_000_000, 20_000_005)}
	for _, at := range received {
		rec.record(context.Background(), &plexo.RawMessage{Topic: plexotestv1.BlobTopicName, Codec: "proto", Payload: payload, Received: at})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
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
	defer r.Close()
	it, err := r.Messages(mcap.UsingIndex(true), mcap.InOrder(mcap.LogTimeOrder))
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range received {
		_, _, m, err := it.NextInto(nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := uint64(at.UnixNano()); m.LogTime != want {
			t.Errorf("message %d: log time %d, want its receive time %d", i, m.LogTime, want)
		}
	}
}
