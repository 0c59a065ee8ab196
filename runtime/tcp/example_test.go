package tcp_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/tcp"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	greeting := plexo.NewTopic[*wrapperspb.StringValue]("example.v1.Greeting.proto")

	// One Plexus listens on loopback...
	server := plexo.New()
	defer server.Close()
	l, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if err := server.Attach(l); err != nil {
		panic(err)
	}

	// ...another dials it and subscribes.
	client := plexo.New()
	defer client.Close()
	d, err := tcp.Dial(ctx, l.Addr().String())
	if err != nil {
		panic(err)
	}
	if err := client.Attach(d); err != nil {
		panic(err)
	}
	got := make(chan string)
	if _, err := greeting.Subscribe(ctx, client, func(_ context.Context, m *wrapperspb.StringValue) { got <- m.Value }); err != nil {
		panic(err)
	}

	// Once the subscription's interest has reached the server, publish.
	if err := server.WaitForInterest(ctx, greeting.Name()); err != nil {
		panic(err)
	}
	if err := greeting.Publish(ctx, server, wrapperspb.String("hello over TCP")); err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	// Output: hello over TCP
}
