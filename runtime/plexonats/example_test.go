package plexonats_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/pipe"
	"github.com/plexo-go/plexo/runtime/plexonats"
)

// A gateway Plexus joins a local plexus (here over a pipe; over TCP or
// multicast alike) to NATS, so that a consumer anywhere on the NATS system
// receives what a local sensor publishes, with the same typed API.
func Example_bridge() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	temperature := plexo.NewTopic[*wrapperspb.DoubleValue]("brewery.sensors.v1.Temperature.proto")

	// An embedded NATS server on loopback stands in for a NATS system.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(5 * time.Second) {
		panic("nats server not ready")
	}

	// The gateway and a consumer each join NATS over a connection of their
	// own, configured with NATS's own options; the transport never closes it.
	var conns []*nats.Conn
	for range 2 {
		nc, err := nats.Connect(ns.ClientURL())
		must(err)
		defer nc.Close()
		conns = append(conns, nc)
	}
	sensor, gateway, consumer := plexo.New(), plexo.New(), plexo.New()
	defer sensor.Close()
	defer gateway.Close()
	defer consumer.Close()
	for i, p := range []*plexo.Plexus{gateway, consumer} {
		t, err := plexonats.New(conns[i])
		must(err)
		must(p.Attach(t))
	}

	// The sensor's plexus reaches the gateway over a pipe.
	local, remote := pipe.New()
	must(sensor.Attach(local))
	must(gateway.Attach(remote))

	got := make(chan float64, 1)
	_, err = temperature.Subscribe(ctx, consumer, func(_ context.Context, m *wrapperspb.DoubleValue) { got <- m.Value })
	must(err)

	// The consumer's interest crosses NATS and the gateway to the sensor.
	must(sensor.WaitForInterest(ctx, temperature.Name()))
	must(temperature.Publish(ctx, sensor, wrapperspb.Double(19.5)))
	fmt.Println("consumer received", <-got)
	// Output: consumer received 19.5
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
