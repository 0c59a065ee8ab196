package multicast_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// benchSizes are the payload sizes of BenchmarkSend.
var benchSizes = []struct {
	name string
	n    int
}{{"128B", 128}, {"1KiB", 1024}}

// BenchmarkSend measures messages per second through the transport to one
// subscribing process-local peer, on the namespace's loopback, beside its
// baseline in the same run: the same number of datagrams, as large as the
// transport's, written to a multicast group with a plain UDP socket, one
// joined socket receiving. Sends must not allocate.
//
//	go test ./runtime/multicast -run '^$' -bench '^BenchmarkSend$' -benchmem -count 6
func BenchmarkSend(b *testing.B) {
	if !netns(b) {
		return
	}
	for _, size := range benchSizes {
		b.Run(size.name+"/multicast", func(b *testing.B) { benchSend(b, size.n) })
		b.Run(size.name+"/raw-udp", func(b *testing.B) { benchRawUDP(b, size.n) })
	}
}

func benchSend(b *testing.B, size int) {
	pub, sub := newNode(b), newNode(b)
	var got atomic.Int64
	if _, err := int64Topic.Subscribe(context.Background(), sub.p, func(context.Context, *wrapperspb.Int64Value) { got.Add(1) }); err != nil {
		b.Fatal(err)
	}
	joined(sub.m)
	msg := &plexo.Message{Topic: int64Topic.Name(), Payload: make([]byte, size), Origin: 1}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		msg.Sequence++
		if err := pub.m.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchRawUDP is BenchmarkSend's baseline.
func benchRawUDP(b *testing.B, size int) {
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
	frame := make([]byte, size+42+40) // about the transport's headers
	b.ReportAllocs()
	b.SetBytes(int64(size))
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
		joined(sub.m) // Subscribe returns before the group is joined
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

// BenchmarkReceiveBufferLoss sends bursts of datagrams to a slow reader
// (about 20 µs a datagram) and reports the share lost at its socket, with
// the kernel's default receive buffer and with the transport's enlarged
// one. Repair is off: this is the loss it would have to make up for.
func BenchmarkReceiveBufferLoss(b *testing.B) {
	if !netns(b) {
		return
	}
	const burst = 2000
	def := 212992
	if v, err := os.ReadFile("/proc/sys/net/core/rmem_default"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(v))); err == nil {
			def = n
		}
	}
	for _, bc := range []struct {
		name   string
		rcvbuf int
	}{
		{"kernel-default", def},
		{"enlarged", multicast.DefaultReceiveBuffer},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pub := newNode(b, multicast.WithRepair(-1))
			sub := newNodeHooked(b, func(uint64, uint64, uint16) bool {
				time.Sleep(20 * time.Microsecond)
				return false
			}, multicast.WithRepair(-1), multicast.WithReceiveBuffer(bc.rcvbuf))
			if _, err := bytesTopic.Subscribe(context.Background(), sub.p, func(context.Context, *wrapperspb.BytesValue) {}); err != nil {
				b.Fatal(err)
			}
			joined(sub.m)
			msg := &plexo.Message{Topic: bytesTopic.Name(), Payload: make([]byte, 1000), Origin: 1}
			ctx := context.Background()
			var sent, got uint64
			for b.Loop() {
				before := sub.m.Stats().Datagrams
				for range burst {
					msg.Sequence++
					if err := pub.m.Send(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
				sent += burst
				got += drained(sub) - before
			}
			b.ReportMetric(100*float64(sent-got)/float64(sent), "loss-%")
			b.ReportMetric(float64(sub.m.Stats().ReceiveBuffer), "granted-bytes")
		})
	}
}

// drained waits until n's sockets have been quiet for 50 ms (5 s at most)
// and returns the datagrams they received.
func drained(n node) uint64 {
	last := n.m.Stats().Datagrams
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		now := n.m.Stats().Datagrams
		if now == last {
			break
		}
		last = now
	}
	return last
}
