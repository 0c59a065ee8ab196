package multicast_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

const benchPayload = 256

// BenchmarkSend measures messages per second through the transport to one
// subscribing process-local peer, on the namespace's loopback.
func BenchmarkSend(b *testing.B) {
	if !netns(b) {
		return
	}
	pub, sub := newNode(b), newNode(b)
	var got atomic.Int64
	if _, err := int64Topic.Subscribe(context.Background(), sub.p, func(context.Context, *wrapperspb.Int64Value) { got.Add(1) }); err != nil {
		b.Fatal(err)
	}
	msg := &plexo.Message{Topic: int64Topic.Name(), Payload: make([]byte, benchPayload), Origin: 1}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(benchPayload)
	for b.Loop() {
		msg.Sequence++
		if err := pub.m.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawUDP is the baseline: the same datagrams written to a
// multicast group with a plain UDP socket, one joined socket receiving.
func BenchmarkRawUDP(b *testing.B) {
	if !netns(b) {
		return
	}
	group := netip.MustParseAddr("239.255.9.9")
	ifi, _ := net.InterfaceByName("lo")
	rc, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: group.AsSlice(), Port: 6000})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := rc.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	dst := netip.AddrPortFrom(group, 6000)
	frame := make([]byte, benchPayload+42+40)
	b.ReportAllocs()
	b.SetBytes(benchPayload)
	for b.Loop() {
		if _, err := sc.WriteToUDPAddrPort(frame, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	rc.Close()
	<-done
}

// BenchmarkFirstDelivery measures, for a topic never sent before, the time
// from its first message to delivery at a remote subscriber (p50, p99).
func BenchmarkFirstDelivery(b *testing.B) {
	if !netns(b) {
		return
	}
	pub, sub := newNode(b, multicast.WithPorts(5570, 5571)), newNode(b, multicast.WithPorts(5570, 5571))
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		topic := plexo.NewTopic[*wrapperspb.Int64Value](fmt.Sprintf("bench.v1.T%d.proto", i))
		arrived := make(chan time.Time, 1)
		s, err := topic.Subscribe(ctx, sub.p, func(context.Context, *wrapperspb.Int64Value) {
			select {
			case arrived <- time.Now():
			default:
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := pub.m.Send(ctx, &plexo.Message{Topic: topic.Name(), Payload: []byte{8, 1}, Origin: 7, Sequence: uint64(i + 1)}); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(start))
		case <-time.After(time.Second):
			b.Fatalf("message %d not delivered", i)
		}
		s.Close()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
