package plexo_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

// BenchmarkLocalDelivery measures in-process publish→handler delivery beside
// its baseline, a buffered Go channel handed to one goroutine per consumer.
// Both sides use queues of the same size and block when full, and both wait
// until every consumer has seen every message.
//
//	go test -run '^$' -bench LocalDelivery -benchmem -count 6 .
func BenchmarkLocalDelivery(b *testing.B) {
	const queue = 1024
	for _, subscribers := range []int{1, 8} {
		b.Run(fmt.Sprintf("subscribers=%d/plexo", subscribers), func(b *testing.B) {
			ctx := context.Background()
			p := plexo.New()
			defer p.Close()
			var handled atomic.Int64
			for range subscribers {
				_, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { handled.Add(1) },
					plexo.WithQueueSize(queue), plexo.WithOverflow(plexo.OverflowBlock))
				if err != nil {
					b.Fatal(err)
				}
			}
			msg := wrapperspb.Int64(42)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := int64Topic.Publish(ctx, p, msg); err != nil {
					b.Fatal(err)
				}
			}
			waitUntil(&handled, int64(b.N*subscribers))
		})
		b.Run(fmt.Sprintf("subscribers=%d/channel", subscribers), func(b *testing.B) {
			var handled atomic.Int64
			var wg sync.WaitGroup
			chans := make([]chan *wrapperspb.Int64Value, subscribers)
			for i := range chans {
				ch := make(chan *wrapperspb.Int64Value, queue)
				chans[i] = ch
				wg.Go(func() {
					for range ch {
						handled.Add(1)
					}
				})
			}
			msg := wrapperspb.Int64(42)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, ch := range chans {
					ch <- msg
				}
			}
			waitUntil(&handled, int64(b.N*subscribers))
			b.StopTimer()
			for _, ch := range chans {
				close(ch)
			}
			wg.Wait()
		})
	}
}

// BenchmarkInlineDelivery measures in-process publish→handler with
// [plexo.WithInline] beside its baseline, a direct call of the handler
// through an interface: what a program without plexo would do to call a
// handler it was given. Neither allocates.
//
//	go test -run '^$' -bench InlineDelivery -benchmem -count 6 .
func BenchmarkInlineDelivery(b *testing.B) {
	b.Run("plexo", func(b *testing.B) {
		ctx := context.Background()
		p := plexo.New()
		defer p.Close()
		var h counter
		if _, err := int64Topic.Subscribe(ctx, p, h.Handle, plexo.WithInline()); err != nil {
			b.Fatal(err)
		}
		msg := wrapperspb.Int64(42)
		b.ReportAllocs()
		for b.Loop() {
			if err := int64Topic.Publish(ctx, p, msg); err != nil {
				b.Fatal(err)
			}
		}
		if h.n != int64(b.N) {
			b.Fatalf("handled %d of %d", h.n, b.N)
		}
	})
	b.Run("interface", func(b *testing.B) {
		ctx := context.Background()
		c := new(counter)
		directHandler = c
		msg := wrapperspb.Int64(42)
		b.ReportAllocs()
		for b.Loop() {
			directHandler.Handle(ctx, msg)
		}
		if c.n != int64(b.N) {
			b.Fatalf("handled %d of %d", c.n, b.N)
		}
	})
}

// int64Handler is the interface the direct-call baseline calls through.
type int64Handler interface {
	Handle(context.Context, *wrapperspb.Int64Value)
}

// directHandler is a package variable so that the compiler cannot see
// which Handle the baseline calls.
var directHandler int64Handler

// counter counts the messages it handles.
type counter struct{ n int64 }

//go:noinline
func (c *counter) Handle(context.Context, *wrapperspb.Int64Value) { c.n++ }

// BenchmarkPublishEncoded measures the publish path when a transport wants
// the topic: one encode into a pooled buffer and one hand-off, which must not
// allocate.
func BenchmarkPublishEncoded(b *testing.B) {
	p := plexo.New()
	defer p.Close()
	tr := &discardTransport{}
	if err := p.Attach(tr); err != nil {
		b.Fatal(err)
	}
	tr.host.SetInterest(int64Topic.Name(), 1)
	msg := wrapperspb.Int64(42)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := int64Topic.Publish(ctx, p, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func waitUntil(n *atomic.Int64, want int64) {
	for n.Load() < want {
		runtime.Gosched()
	}
}

// discardTransport accepts every message and keeps nothing.
type discardTransport struct {
	nopTransport
	host plexo.Host
}

func (d *discardTransport) Start(h plexo.Host) error { d.host = h; return nil }

// BenchmarkDeliver measures the receiving side of a transport: duplicate
// suppression, one decode, and the hand-off to a subscription.
func BenchmarkDeliver(b *testing.B) {
	host, handled, payload := deliverySetup(b)
	msg := plexo.Message{Topic: int64Topic.Name(), Payload: payload, Origin: 7}
	b.ReportAllocs()
	for b.Loop() {
		msg.Sequence++
		host.Deliver(&msg)
	}
	waitUntil(handled, int64(msg.Sequence))
}

// BenchmarkDeliverBatch is BenchmarkDeliver with the messages handed over
// 64 at a time through [plexo.BatchHost], as runtime/tcp hands over what one
// read brings; it reports the time per message.
func BenchmarkDeliverBatch(b *testing.B) {
	host, handled, payload := deliverySetup(b)
	batch := make([]plexo.Message, 64)
	for i := range batch {
		batch[i] = plexo.Message{Topic: int64Topic.Name(), Payload: payload, Origin: 7}
	}
	bh := host.(plexo.BatchHost)
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		if seq%64 == 0 {
			for i := range batch {
				batch[i].Sequence = seq + uint64(i) + 1
			}
			bh.DeliverBatch(batch)
		}
		seq++
	}
	b.StopTimer()
	waitUntil(handled, int64(seq+63)/64*64)
}

// deliverySetup is the receiving side of BenchmarkDeliver and
// BenchmarkDeliverBatch: the Host a Plexus gives a transport, one
// subscription that counts its messages in handled, and an encoded payload.
func deliverySetup(b *testing.B) (host plexo.Host, handled *atomic.Int64, payload []byte) {
	p := plexo.New()
	b.Cleanup(func() { p.Close() })
	tr := &discardTransport{}
	if err := p.Attach(tr); err != nil {
		b.Fatal(err)
	}
	handled = new(atomic.Int64)
	if _, err := int64Topic.Subscribe(context.Background(), p, func(context.Context, *wrapperspb.Int64Value) { handled.Add(1) },
		plexo.WithQueueSize(1024), plexo.WithOverflow(plexo.OverflowBlock)); err != nil {
		b.Fatal(err)
	}
	payload, err := plexo.ProtoCodec().Marshal(nil, wrapperspb.Int64(42))
	if err != nil {
		b.Fatal(err)
	}
	return tr.host, handled, payload
}

// BenchmarkRemoteTopics measures how a Plexus takes in the interest of a
// peer that wants many topics: the cost per topic must not grow with the
// number of topics already known (it once grew linearly, so that 20,000
// topics took 40 s).
func BenchmarkRemoteTopics(b *testing.B) {
	for _, known := range []int{0, 10000} {
		b.Run(fmt.Sprintf("known=%d", known), func(b *testing.B) {
			p := plexo.New()
			defer p.Close()
			tr := &discardTransport{}
			if err := p.Attach(tr); err != nil {
				b.Fatal(err)
			}
			for i := range known {
				tr.host.SetInterest(fmt.Sprintf("known.%d.proto", i), 1)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tr.host.SetInterest(fmt.Sprintf("new.%d.proto", i), 1)
				i++
			}
		})
	}
}
