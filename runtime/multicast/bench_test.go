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
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
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
// baselines in the same run: datagrams as large as the transport's written
// to a multicast group with a plain UDP socket, one joined socket (with the
// transport's receive buffer) reading them, and in raw-udp-typed also
// unmarshalling each into a new message, as the subscribing Plexus does.
// The payload is a BytesValue of the size named, which the subscriber
// decodes. recv-% is the share of the messages the receiver got (read, or
// delivered to the handler) by the end, and read-% the share of datagrams
// the subscribing transport read from its socket (the rest the kernel
// dropped with its receive buffer full); cpu-ns/msg is the process's CPU
// time (user and system, sender and receiver) per message sent, until the
// receiver has caught up. Sends must not allocate.
//
//	go test ./runtime/multicast -run '^$' -bench '^BenchmarkSend$' -benchmem -count 6
func BenchmarkSend(b *testing.B) {
	if !netns(b) {
		return
	}
	for _, size := range benchSizes {
		b.Run(size.name+"/multicast", func(b *testing.B) { benchSend(b, size.n) })
		b.Run(size.name+"/raw-udp", func(b *testing.B) { benchRawUDP(b, size.n, false) })
		b.Run(size.name+"/raw-udp-typed", func(b *testing.B) { benchRawUDP(b, size.n, true) })
	}
}

// bytesPayload returns a BytesValue encoded in size bytes (size ≥ 3).
func bytesPayload(b *testing.B, size int) []byte {
	for n := size - 2; n >= 0; n-- {
		p, err := proto.Marshal(wrapperspb.Bytes(make([]byte, n)))
		if err != nil {
			b.Fatal(err)
		}
		if len(p) == size {
			return p
		}
	}
	b.Fatalf("no BytesValue encodes in %d bytes", size)
	return nil
}

// dataDatagram is the size of the datagram that carries a message of
// payload bytes of bytesTopic (unauthenticated, one fragment): the header,
// the length-prefixed topic name, the origin and the sequence.
func dataDatagram(payload int) int { return 42 + 2 + len(bytesTopic.Name()) + 16 + payload }

func benchSend(b *testing.B, size int) {
	pub, sub := newNode(b), newNode(b)
	var got atomic.Int64
	if _, err := bytesTopic.Subscribe(context.Background(), sub.p, func(context.Context, *wrapperspb.BytesValue) { got.Add(1) }); err != nil {
		b.Fatal(err)
	}
	joined(sub.m)
	msg := &plexo.Message{Topic: bytesTopic.Name(), Payload: bytesPayload(b, size), Origin: 1}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	sent := 0
	cpu := cpuTime()
	for b.Loop() {
		msg.Sequence++
		if err := pub.m.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(100*float64(settled(got.Load))/float64(sent), "recv-%")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(sent), "cpu-ns/msg")
	b.ReportMetric(100*float64(sub.m.Stats().Datagrams)/float64(sent), "read-%")
}

// cpuTime returns the CPU time the process has used, user and system, in
// nanoseconds. Taken around a benchmark's loop and the receiver's catching
// up (settled), it tells what sending and receiving a message costs the
// machine, whatever the other load on it.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// settled waits until count stops changing for 20 ms (2 s at most) and
// returns it.
func settled(count func() int64) int64 {
	last := count()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
		now := count()
		if now == last {
			break
		}
		last = now
	}
	return last
}

// rawSockets is how many sockets the nodes of benchSend have on the data
// port: the subscriber's on the topic's group, and each node's on the
// group of the Plexus directory's topic. Multicast delivery looks at every
// socket on the port, so the baseline opens as many: one joined to its
// group, which reads, and the others joined to another group.
const rawSockets = 3

// listenRaw opens a socket on group:6000 that receives that group only,
// as the transport's sockets do (IP_MULTICAST_ALL off).
func listenRaw(b *testing.B, group netip.Addr) *net.UDPConn {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: group.AsSlice(), Port: 6000})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var sockErr error
	if err := rc.Control(func(fd uintptr) { sockErr = multicastAllOff(fd) }); err != nil || sockErr != nil {
		b.Fatal(err, sockErr)
	}
	if err := c.SetReadBuffer(multicast.DefaultReceiveBuffer); err != nil {
		b.Fatal(err)
	}
	return c
}

// rawPair is the baseline's sender and reading receiver.
type rawPair struct {
	sc    *net.UDPConn
	dst   netip.AddrPort
	frame []byte
	got   atomic.Int64
	close func()
}

// newRawPair opens the baseline's sockets (rawSockets on port 6000, one of
// them read by a goroutine, unmarshalling when typed) and a sender of
// datagrams as large as the transport's for a payload of size bytes.
func newRawPair(b *testing.B, size int, typed bool) *rawPair {
	group := netip.MustParseAddr("239.255.9.9")
	rc := listenRaw(b, group)
	var idle []*net.UDPConn
	for range rawSockets - 1 {
		idle = append(idle, listenRaw(b, netip.MustParseAddr("239.255.9.10")))
	}
	p := &rawPair{dst: netip.AddrPortFrom(group, 6000), frame: bytesPayload(b, dataDatagram(size))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, _, err := rc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if typed {
				if proto.Unmarshal(buf[:n], new(wrapperspb.BytesValue)) != nil {
					continue
				}
			}
			p.got.Add(1)
		}
	}()
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	p.sc = sc
	p.close = func() {
		sc.Close()
		rc.Close()
		<-done
		for _, c := range idle {
			c.Close()
		}
	}
	return p
}

// benchRawUDP is BenchmarkSend's baseline; typed, its reader unmarshals
// every datagram into a new BytesValue.
func benchRawUDP(b *testing.B, size int, typed bool) {
	p := newRawPair(b, size, typed)
	defer p.close()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	sent := 0
	cpu := cpuTime()
	for b.Loop() {
		if _, err := p.sc.WriteToUDPAddrPort(p.frame, p.dst); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(100*float64(settled(p.got.Load))/float64(sent), "recv-%")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(sent), "cpu-ns/msg")
}

// BenchmarkSendInterleaved is BenchmarkSend's comparison with the load of
// a shared machine spread evenly: it alternates blocks of 2,000 sends
// through the transport (to its subscriber, as in BenchmarkSend) and
// through the raw socket (to its reading socket), so that both see the
// same moments, and reports each one's rate and their ratio. The raw
// reader only reads.
//
//	go test ./runtime/multicast -run '^$' -bench '^BenchmarkSendInterleaved$' -benchtime 400000x -count 6
func BenchmarkSendInterleaved(b *testing.B) {
	if !netns(b) {
		return
	}
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			pub, sub := newNode(b), newNode(b)
			if _, err := bytesTopic.Subscribe(context.Background(), sub.p, func(context.Context, *wrapperspb.BytesValue) {}); err != nil {
				b.Fatal(err)
			}
			joined(sub.m)
			raw := newRawPair(b, size.n, false)
			defer raw.close()
			msg := &plexo.Message{Topic: bytesTopic.Name(), Payload: bytesPayload(b, size.n), Origin: 1}
			ctx := context.Background()
			const block = 2000
			var mcTime, rawTime time.Duration
			mcSent, rawSent := 0, 0
			b.ResetTimer()
			for mcSent+rawSent < b.N {
				start := time.Now()
				for range block {
					msg.Sequence++
					if err := pub.m.Send(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
				mcSent += block
				mid := time.Now()
				for range block {
					if _, err := raw.sc.WriteToUDPAddrPort(raw.frame, raw.dst); err != nil {
						b.Fatal(err)
					}
				}
				rawSent += block
				mcTime, rawTime = mcTime+mid.Sub(start), rawTime+time.Since(mid)
			}
			b.StopTimer()
			mc, rw := float64(mcSent)/mcTime.Seconds(), float64(rawSent)/rawTime.Seconds()
			b.ReportMetric(mc, "multicast-msgs/s")
			b.ReportMetric(rw, "raw-msgs/s")
			b.ReportMetric(mc/rw, "ratio")
		})
	}
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
