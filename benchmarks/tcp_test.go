package benchmarks

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/benchmarks/testdata/vtbenchpb"
	"github.com/plexo-go/plexo/runtime/tcp"
)

var (
	payloadTopic = plexo.NewTopic[*wrapperspb.BytesValue]("bench.v1.Payload.proto")
	pingTopic    = plexo.NewTopic[*wrapperspb.BytesValue]("bench.v1.Ping.proto")
	pongTopic    = plexo.NewTopic[*wrapperspb.BytesValue]("bench.v1.Pong.proto")

	vtPayloadTopic = plexo.NewTopic[*vtbenchpb.Payload]("plexobench.v1.Payload.proto")
)

var sizes = []struct {
	name string
	n    int
}{{"128B", 128}, {"4KiB", 4096}}

// waitTimeout bounds every wait in these benchmarks.
const waitTimeout = 60 * time.Second

// reportRate reports messages per second over the timed part of the run.
func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkThroughput publishes b.N messages to a handler in another Plexus
// over TCP loopback, beside NATS and raw framed TCP moving the same number of
// bytes. The typed variants of the baselines also do what plexo does for a
// typed handler and a plain byte mover does not: encode the message with
// proto.Marshal before sending and decode it with proto.Unmarshal on receipt.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range sizes {
		msg := wrapperspb.Bytes(make([]byte, size.n))
		b.Run(size.name+"/plexo", func(b *testing.B) { benchPlexoThroughput(b, payloadTopic, msg, size.n) })
		b.Run(size.name+"/plexo-inline", func(b *testing.B) {
			benchPlexoThroughput(b, payloadTopic, msg, size.n, plexo.WithInline())
		})
		// The same bytes in a message with vtprotobuf's methods, which
		// plexo's proto codec uses.
		vt := &vtbenchpb.Payload{Data: make([]byte, size.n)}
		b.Run(size.name+"/plexo-vtprotobuf", func(b *testing.B) { benchPlexoThroughput(b, vtPayloadTopic, vt, size.n) })
		b.Run(size.name+"/nats", func(b *testing.B) { benchNATSThroughput(b, size.n, false) })
		b.Run(size.name+"/raw", func(b *testing.B) { benchRawThroughput(b, size.n, false) })
		b.Run(size.name+"/nats-typed", func(b *testing.B) { benchNATSThroughput(b, size.n, true) })
		b.Run(size.name+"/raw-typed", func(b *testing.B) { benchRawThroughput(b, size.n, true) })
	}
}

// encodeOrFail encodes m into buf as a typed publisher would send it.
func encodeOrFail(b *testing.B, buf []byte, m proto.Message) []byte {
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf[:0], m)
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

// decodeOrFail decodes a BytesValue as a typed handler would receive it.
func decodeOrFail(data []byte) *wrapperspb.BytesValue {
	m := new(wrapperspb.BytesValue)
	if err := proto.Unmarshal(data, m); err != nil {
		panic(err)
	}
	return m
}

// pair connects two Plexus values over TCP loopback, lossless: a full
// queue makes the publisher wait.
func pair(b *testing.B) (pub, sub *plexo.Plexus) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub = plexo.New(plexo.WithOverflow(plexo.OverflowBlock))
	sub = plexo.New(plexo.WithOverflow(plexo.OverflowBlock), plexo.WithQueueSize(8192))
	b.Cleanup(func() { _ = pub.Close(); _ = sub.Close() })
	l, err := tcp.Listen(ctx, "127.0.0.1:0", tcp.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		b.Fatal(err)
	}
	if err := pub.Attach(l); err != nil {
		b.Fatal(err)
	}
	d, err := tcp.Dial(ctx, l.Addr().String(), tcp.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		b.Fatal(err)
	}
	if err := sub.Attach(d); err != nil {
		b.Fatal(err)
	}
	return pub, sub
}

func benchPlexoThroughput[T proto.Message](b *testing.B, topic plexo.Topic[T], msg T, size int, opts ...plexo.SubscribeOption) {
	pub, sub := pair(b)
	var got atomic.Int64
	var target atomic.Int64
	target.Store(-1)
	done := make(chan struct{}, 1)
	ctx := context.Background()
	if _, err := topic.Subscribe(ctx, sub, func(context.Context, T) {
		if got.Add(1) == target.Load() {
			done <- struct{}{}
		}
	}, opts...); err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pub.WaitForInterest(wctx, topic.Name()); err != nil {
		b.Fatal(err)
	}
	target.Store(int64(b.N))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := topic.Publish(ctx, pub, msg); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		b.Fatalf("received %d of %d", got.Load(), b.N)
	}
	reportRate(b, start)
}

// startNATS runs an embedded NATS server on a random loopback port.
func startNATS(b *testing.B) string {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats server not ready")
	}
	b.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

func natsConn(b *testing.B, url string) *nats.Conn {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}

func benchNATSThroughput(b *testing.B, size int, typed bool) {
	url := startNATS(b)
	pub, subc := natsConn(b, url), natsConn(b, url)
	var got atomic.Int64
	var target atomic.Int64
	target.Store(-1)
	done := make(chan struct{}, 1)
	sub, err := subc.Subscribe("bench", func(m *nats.Msg) {
		if typed {
			_ = decodeOrFail(m.Data)
		}
		if got.Add(1) == target.Load() {
			done <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := subc.Flush(); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	msg := wrapperspb.Bytes(data)
	var buf []byte
	target.Store(int64(b.N))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if typed {
			buf = encodeOrFail(b, buf, msg)
			data = buf
		}
		if err := pub.Publish("bench", data); err != nil {
			b.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		b.Fatalf("received %d of %d (dropped %d)", got.Load(), b.N, must(sub.Dropped()))
	}
	reportRate(b, start)
}

func must(n int, _ error) int { return n }

// rawPair returns both ends of a loopback TCP connection.
func rawPair(b *testing.B) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// readFrame reads a u32-length-prefixed frame into buf, without allocating
// once buf is large enough.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	hdr, err := r.Peek(4)
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr))
	_, _ = r.Discard(4)
	buf = slices.Grow(buf[:0], n)[:n]
	_, err = io.ReadFull(r, buf)
	return buf, err
}

// peekFrame returns the next u32-length-prefixed frame's body in place in
// r's buffer, which must hold a whole frame; the caller discards 4 plus its
// length when done with it.
func peekFrame(r *bufio.Reader) ([]byte, error) {
	hdr, err := r.Peek(4)
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr))
	frame, err := r.Peek(4 + n)
	if err != nil {
		return nil, err
	}
	return frame[4:], nil
}

// appendFrame appends data as a u32-length-prefixed frame.
func appendFrame(b, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func benchRawThroughput(b *testing.B, size int, typed bool) {
	client, server := rawPair(b)
	done := make(chan int, 1)
	n := b.N
	go func() {
		r := bufio.NewReaderSize(server, 64<<10)
		var buf []byte
		count := 0
		for count < n {
			if typed {
				// A careful typed reader decodes the frame where it lies
				// in the bufio buffer, into a new message, on the reading
				// goroutine.
				frame, err := peekFrame(r)
				if err != nil {
					break
				}
				_ = decodeOrFail(frame)
				_, _ = r.Discard(4 + len(frame))
			} else {
				var err error
				if buf, err = readFrame(r, buf); err != nil {
					break
				}
			}
			count++
		}
		done <- count
	}()
	w := bufio.NewWriterSize(client, 64<<10)
	data := make([]byte, size)
	msg := wrapperspb.Bytes(data)
	var buf []byte
	frame := make([]byte, 0, 4+size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if typed {
			buf = encodeOrFail(b, buf, msg)
			data = buf
		}
		frame = appendFrame(frame[:0], data)
		if _, err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	select {
	case got := <-done:
		if got != n {
			b.Fatalf("received %d of %d", got, n)
		}
	case <-time.After(waitTimeout):
		b.Fatal("raw reader stuck")
	}
	reportRate(b, start)
}

// BenchmarkRoundTrip measures a 128-byte request answered by a handler in
// another process-like peer over TCP loopback, beside NATS request-reply and
// a raw TCP ping-pong. It reports the median and 99th percentile.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("plexo", func(b *testing.B) { benchPlexoRoundTrip(b) })
	b.Run("plexo-inline", func(b *testing.B) { benchPlexoRoundTrip(b, plexo.WithInline()) })
	b.Run("nats", benchNATSRoundTrip)
	b.Run("raw", benchRawRoundTrip)
}

func reportLatency(b *testing.B, rtts []time.Duration) {
	slices.Sort(rtts)
	us := func(q float64) float64 { return float64(rtts[int(q*float64(len(rtts)-1))]) / 1e3 }
	b.ReportMetric(us(0.50), "p50-µs")
	b.ReportMetric(us(0.99), "p99-µs")
}

func benchPlexoRoundTrip(b *testing.B, opts ...plexo.SubscribeOption) {
	a, c := pair(b)
	ctx := context.Background()
	// Like the raw ping-pong, where one goroutine writes a ping, reads the
	// pong and writes the next ping, the pong's handler takes the time and
	// publishes the next ping itself: the loop is publish -> remote handler
	// -> reply -> handler, with no hop to a benchmark goroutine in between.
	base := time.Now()
	var (
		sent atomic.Int64 // time.Since(base) when the current ping was published
		next int          // the pong handler's: rtts filled so far
		perr atomic.Value // a publish error in the handler
	)
	msg := wrapperspb.Bytes(make([]byte, 128))
	rtts := make([]time.Duration, b.N)
	done := make(chan struct{})
	if _, err := pingTopic.Subscribe(ctx, c, func(ctx context.Context, m *wrapperspb.BytesValue) {
		_ = pongTopic.Publish(ctx, c, m)
	}, opts...); err != nil {
		b.Fatal(err)
	}
	if _, err := pongTopic.Subscribe(ctx, a, func(ctx context.Context, _ *wrapperspb.BytesValue) {
		if next == len(rtts) {
			return
		}
		rtts[next] = time.Since(base) - time.Duration(sent.Load())
		if next++; next == len(rtts) {
			close(done)
			return
		}
		sent.Store(int64(time.Since(base)))
		if err := pingTopic.Publish(ctx, a, msg); err != nil {
			perr.Store(err)
		}
	}, opts...); err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.WaitForInterest(wctx, pingTopic.Name()); err != nil {
		b.Fatal(err)
	}
	if err := c.WaitForInterest(wctx, pongTopic.Name()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	sent.Store(int64(time.Since(base)))
	if err := pingTopic.Publish(ctx, a, msg); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		b.Fatalf("stuck after %d round trips (publish error: %v)", len(rtts), perr.Load())
	}
	b.StopTimer()
	if err := perr.Load(); err != nil {
		b.Fatal(err)
	}
	reportLatency(b, rtts)
}

func benchNATSRoundTrip(b *testing.B) {
	url := startNATS(b)
	req, resp := natsConn(b, url), natsConn(b, url)
	if _, err := resp.Subscribe("ping", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := resp.Flush(); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	rtts := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := req.Request("ping", data, waitTimeout); err != nil {
			b.Fatal(err)
		}
		rtts[i] = time.Since(start)
	}
	b.StopTimer()
	reportLatency(b, rtts)
}

func benchRawRoundTrip(b *testing.B) {
	client, server := rawPair(b)
	go func() {
		r, w := bufio.NewReader(server), bufio.NewWriter(server)
		var buf, out []byte
		for {
			var err error
			if buf, err = readFrame(r, buf); err != nil {
				return
			}
			out = appendFrame(out[:0], buf)
			_, _ = w.Write(out)
			if w.Flush() != nil {
				return
			}
		}
	}()
	r, w := bufio.NewReader(client), bufio.NewWriter(client)
	data := make([]byte, 128)
	var buf, out []byte
	rtts := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		_ = client.SetDeadline(start.Add(waitTimeout))
		out = appendFrame(out[:0], data)
		_, _ = w.Write(out)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = readFrame(r, buf); err != nil {
			b.Fatal(err)
		}
		rtts[i] = time.Since(start)
	}
	b.StopTimer()
	reportLatency(b, rtts)
}
