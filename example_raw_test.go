package plexo_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/pipe"
)

func ExamplePlexus_SubscribeRaw() {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()

	// A recorder needs no Go type: it receives the encoded bytes.
	done := make(chan struct{})
	sub, err := p.SubscribeRaw(ctx, "brewery.sensors.v1.Reading.proto", func(_ context.Context, m *plexo.RawMessage) {
		fmt.Printf("%s: %d bytes of %s\n", m.Topic, len(m.Payload), m.Codec)
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
	// Output: brewery.sensors.v1.Reading.proto: 9 bytes of proto
}

func ExamplePlexus_PublishRaw() {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()

	done := make(chan struct{})
	if _, err := readingTopic.Subscribe(ctx, p, func(_ context.Context, r *wrapperspb.DoubleValue) {
		fmt.Println("typed subscriber got", r.Value)
		close(done)
	}); err != nil {
		panic(err)
	}
	// A replayer publishes bytes it recorded, by topic name.
	payload, _ := proto.Marshal(wrapperspb.Double(72))
	if err := p.PublishRaw(ctx, readingTopic.Name(), payload); err != nil {
		panic(err)
	}
	<-done
	// Output: typed subscriber got 72
}

func ExamplePlexus_WatchDirectory() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A sensor process, and a tool that has none of its Go types, joined
	// here by a pipe (by TCP, multicast or NATS in real life).
	sensor, tool := plexo.New(), plexo.New()
	defer sensor.Close()
	defer tool.Close()
	a, b := pipe.New()
	_ = sensor.Attach(a)
	_ = tool.Attach(b)
	_ = readingTopic.Publish(ctx, sensor, wrapperspb.Double(19.25))

	dir, err := tool.WatchDirectory(ctx)
	if err != nil {
		panic(err)
	}
	defer dir.Close()
	for {
		if info, ok := dir.Lookup(readingTopic.Name()); ok {
			fmt.Println(info.Topic, "carries", info.Message, "encoded as", info.Codec)
			break
		}
		select {
		case <-dir.Changed():
		case <-ctx.Done():
			panic(ctx.Err())
		}
	}

	// The sensor shares the message type's descriptor: the tool decodes
	// what it receives without the schema.
	md, err := dir.Descriptor(ctx, "google.protobuf.DoubleValue")
	if err != nil {
		panic(err)
	}
	payload, _ := proto.Marshal(wrapperspb.Double(19.25))
	msg := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(payload, msg); err != nil {
		panic(err)
	}
	fmt.Println(protojson.Format(msg))
	// Output:
	// brewery.sensors.v1.Reading.proto carries google.protobuf.DoubleValue encoded as proto
	// 19.25
}
