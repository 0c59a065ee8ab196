package plexo_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/pipe"
)

// Generated code declares one Topic per message; these examples declare
// theirs by hand with a well-known type.
var readingTopic = plexo.NewTopic[*wrapperspb.DoubleValue]("brewery.sensors.v1.Reading.proto")

func ExampleNew() {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()

	done := make(chan struct{})
	sub, err := readingTopic.Subscribe(ctx, p, func(_ context.Context, r *wrapperspb.DoubleValue) {
		fmt.Printf("mash tun at %.1f °C\n", r.Value)
		close(done)
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	if err := readingTopic.Publish(ctx, p, wrapperspb.Double(66.5)); err != nil {
		panic(err)
	}
	<-done
	// Output: mash tun at 66.5 °C
}

func ExampleTopic_Name() {
	fmt.Println(readingTopic.Name())
	fmt.Println(readingTopic.Codec().Name())
	// Output:
	// brewery.sensors.v1.Reading.proto
	// proto
}

func ExampleWithOverflow() {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()

	// A logger that must see every reading makes publishers wait for it
	// instead of dropping the oldest queued message (the default).
	sub, err := readingTopic.Subscribe(ctx, p, func(context.Context, *wrapperspb.DoubleValue) {},
		plexo.WithQueueSize(64), plexo.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	fmt.Println(sub.Topic())
	// Output: brewery.sensors.v1.Reading.proto
}

func ExamplePlexus_Attach() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Two Plexus values, as in two processes, joined by an in-memory pipe.
	sensor, logger := plexo.New(), plexo.New()
	defer sensor.Close()
	defer logger.Close()
	a, b := pipe.New()
	if err := sensor.Attach(a); err != nil {
		panic(err)
	}
	if err := logger.Attach(b); err != nil {
		panic(err)
	}

	got := make(chan float64)
	if _, err := readingTopic.Subscribe(ctx, logger, func(_ context.Context, r *wrapperspb.DoubleValue) {
		got <- r.Value
	}); err != nil {
		panic(err)
	}
	// Interest crosses the pipe asynchronously; wait for it so that the
	// first reading is not published to nobody.
	if err := sensor.WaitForInterest(ctx, readingTopic.Name()); err != nil {
		panic(err)
	}
	if err := readingTopic.Publish(ctx, sensor, wrapperspb.Double(19.25)); err != nil {
		panic(err)
	}
	fmt.Println("logged", <-got)
	// Output: logged 19.25
}

func ExamplePlexus_Stats() {
	ctx := context.Background()
	p := plexo.New()
	_, _ = readingTopic.Subscribe(ctx, p, func(context.Context, *wrapperspb.DoubleValue) {})
	for range 3 {
		_ = readingTopic.Publish(ctx, p, wrapperspb.Double(12))
	}
	_ = p.Close()
	s := p.Stats().Topics[readingTopic.Name()]
	fmt.Println("published", s.Published)
	// Output: published 3
}
