package multicast_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
)

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) == "1" {
		os.Exit(runAgent())
	}
	goleak.VerifyTestMain(m)
}

var (
	stringTopic = plexo.NewTopic[*wrapperspb.StringValue]("test.v1.String.proto")
	int64Topic  = plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Int64.proto")
	bytesTopic  = plexo.NewTopic[*wrapperspb.BytesValue]("test.v1.Bytes.proto")
)

type node struct {
	p *plexo.Plexus
	m *multicast.Transport
}

func newNode(t testing.TB, opts ...multicast.Option) node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]multicast.Option{multicast.WithInterface("lo"), multicast.WithHeartbeat(100 * time.Millisecond)}, opts...)
	m, err := multicast.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p := plexo.New()
	if err := p.Attach(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return node{p, m}
}

// collector gathers delivered values.
type collector[T any] struct {
	mu  sync.Mutex
	got []T
	ch  chan struct{}
}

func newCollector[T any]() *collector[T] { return &collector[T]{ch: make(chan struct{}, 1)} }

func (c *collector[T]) add(v T) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector[T]) values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.got...)
}

// wait waits until n values arrived or the timeout passes.
func (c *collector[T]) wait(n int, timeout time.Duration) []T {
	deadline := time.After(timeout)
	for {
		if v := c.values(); len(v) >= n {
			return v
		}
		select {
		case <-c.ch:
		case <-deadline:
			return c.values()
		}
	}
}

func subscribe[T proto.Message](t *testing.T, n node, topic plexo.Topic[T]) *collector[T] {
	t.Helper()
	c := newCollector[T]()
	if _, err := topic.Subscribe(context.Background(), n.p, func(_ context.Context, v T) { c.add(v) }); err != nil {
		t.Fatal(err)
	}
	joined(n.m) // Subscribe returns before the group is joined
	return c
}

func TestTypedDelivery(t *testing.T) {
	if !netns(t) {
		return
	}
	ctx := context.Background()
	pub, a, b := newNode(t), newNode(t), newNode(t)
	strings := subscribe(t, a, stringTopic)
	ints := subscribe(t, b, int64Topic)
	if pub.m.Group(stringTopic.Name()) == pub.m.Group(int64Topic.Name()) {
		t.Fatal("test topics share a home group; pick other names")
	}
	const n = 50
	for i := range n {
		if err := stringTopic.Publish(ctx, pub.p, wrapperspb.String(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if err := int64Topic.Publish(ctx, pub.p, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	gotS, gotI := strings.wait(n, 5*time.Second), ints.wait(n, 5*time.Second)
	if len(gotS) != n || len(gotI) != n {
		t.Fatalf("delivered %d strings and %d ints, want %d each", len(gotS), len(gotI), n)
	}
	for i := range n {
		if gotS[i].Value != fmt.Sprint(i) || gotI[i].Value != int64(i) {
			t.Fatalf("message %d: %q, %d", i, gotS[i].Value, gotI[i].Value)
		}
	}
	// The kernel filtered: a subscriber's sockets saw only its own type.
	for name, x := range map[string]node{"strings": a, "ints": b} {
		stats := x.m.Stats()
		if stats.Unwanted != 0 || stats.Datagrams != n {
			t.Errorf("%s subscriber: %d datagrams at its sockets, %d unwanted; want %d and 0", name, stats.Datagrams, stats.Unwanted, n)
		}
	}
	if stats := pub.m.Stats(); stats.ReceiveBuffer <= 0 {
		t.Errorf("receive buffer granted: %d", stats.ReceiveBuffer)
	}
}

// collidingNames returns two topic names with the same home group in the
// default range.
func collidingNames() (low, high string) {
	seen := make(map[string]string)
	for i := 0; ; i++ {
		name := fmt.Sprintf("test.v1.C%d.proto", i)
		g := agree.Home(agree.IDOf(name), 1<<16, 80)
		key := fmt.Sprint(g)
		if other, ok := seen[key]; ok {
			if agree.IDOf(other) < agree.IDOf(name) {
				return other, name
			}
			return name, other
		}
		seen[key] = name
	}
}

// TestCollision publishes two topics that share a home group, and checks
// the one with the larger id moves to a group of its own with no message
// lost and no wrong delivery.
func TestCollision(t *testing.T) {
	if !netns(t) {
		return
	}
	ctx := context.Background()
	lowName, highName := collidingNames()
	low := plexo.NewTopic[*wrapperspb.Int64Value](lowName)
	high := plexo.NewTopic[*wrapperspb.Int64Value](highName)
	pub, a, b := newNode(t), newNode(t), newNode(t)
	// Read the shared home group before the topics are in use: once they
	// are, a loaded machine may relocate one before the test looks.
	home := pub.m.Group(highName)
	if home != pub.m.Group(lowName) {
		t.Fatal("names do not collide")
	}
	gotLow := subscribe(t, a, low)
	gotHigh := subscribe(t, b, high)
	sent := 0
	deadline := time.Now().Add(10 * time.Second)
	moved := time.Time{}
	for time.Now().Before(deadline) {
		sent++
		if err := low.Publish(ctx, pub.p, wrapperspb.Int64(int64(sent))); err != nil {
			t.Fatal(err)
		}
		if err := high.Publish(ctx, pub.p, wrapperspb.Int64(int64(sent))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if moved.IsZero() && pub.m.Group(highName) != home && b.m.Group(highName) != home {
			moved = time.Now()
		}
		if !moved.IsZero() && time.Since(moved) > 500*time.Millisecond {
			break
		}
	}
	if moved.IsZero() {
		t.Fatalf("the larger id never left the shared group %s", home)
	}
	if pub.m.Group(lowName) != home {
		t.Errorf("the smaller id moved to %s", pub.m.Group(lowName))
	}
	for name, c := range map[string]*collector[*wrapperspb.Int64Value]{"low": gotLow, "high": gotHigh} {
		got := c.wait(sent, 5*time.Second)
		if len(got) != sent {
			t.Errorf("%s: %d of %d messages delivered", name, len(got), sent)
		}
		for i, v := range got {
			if v.Value != int64(i+1) {
				t.Errorf("%s: message %d is %d", name, i, v.Value)
				break
			}
		}
	}
	t.Logf("relocated %s from %s to %s; subscriber stats %+v", highName, home, b.m.Group(highName), b.m.Stats())
	// After the grace period the low subscriber hears no more of the high topic.
	before := a.m.Stats().Unwanted
	for i := range 20 {
		high.Publish(ctx, pub.p, wrapperspb.Int64(int64(sent+i+1)))
	}
	time.Sleep(300 * time.Millisecond)
	if after := a.m.Stats().Unwanted; after != before {
		t.Errorf("low subscriber still receives %d datagrams of the relocated topic", after-before)
	}
}

func TestLargeMessage(t *testing.T) {
	if !netns(t) {
		return
	}
	pub, sub := newNode(t), newNode(t)
	got := subscribe(t, sub, bytesTopic)
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	const n = 3
	for range n {
		if err := bytesTopic.Publish(context.Background(), pub.p, wrapperspb.Bytes(payload)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the receiver drain 750 datagrams
	}
	v := got.wait(n, 10*time.Second)
	if len(v) == 0 {
		t.Fatalf("no 1 MiB message delivered; stats %+v", sub.m.Stats())
	}
	for _, m := range v {
		if !bytes.Equal(m.Value, payload) {
			t.Fatal("1 MiB message corrupted")
		}
	}
	if len(v) != n {
		t.Errorf("%d of %d 1 MiB messages delivered (stats %+v)", len(v), n, sub.m.Stats())
	}
}

func TestAuthentication(t *testing.T) {
	if !netns(t) {
		return
	}
	good := map[uint8][]byte{1: []byte("brewery secret, 16+")}
	bad := map[uint8][]byte{1: []byte("a guessed secret")}
	pub := newNode(t, multicast.WithKeys(good, 1))
	friend := newNode(t, multicast.WithKeys(good, 1))
	mallory := newNode(t, multicast.WithKeys(bad, 1))
	plain := newNode(t)
	got := subscribe(t, friend, stringTopic)
	for _, x := range []node{pub, mallory, plain} {
		// Straight to the transport: mallory never hears the (keyed)
		// interest, so its Plexus would not send.
		payload, _ := proto.Marshal(wrapperspb.String(fmt.Sprint(x.p.ID())))
		msg := &plexo.Message{Topic: stringTopic.Name(), Payload: payload, Origin: x.p.ID(), Sequence: 1}
		if err := x.m.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	v := got.wait(1, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	v = got.values()
	if len(v) != 1 || v[0].Value != fmt.Sprint(pub.p.ID()) {
		t.Fatalf("delivered %v, want only the keyed publisher's message", v)
	}
	if stats := friend.m.Stats(); stats.AuthFailures < 2 {
		t.Errorf("auth failures counted: %d, want >= 2 (wrong key, no key)", stats.AuthFailures)
	}
}

func TestSendAllocs(t *testing.T) {
	if !netns(t) {
		return
	}
	n := newNode(t)
	msg := &plexo.Message{Topic: stringTopic.Name(), Payload: []byte("steady state"), Origin: 1}
	ctx := context.Background()
	for range multicast.DefaultRepair + 1 { // fill the repair ring's buffers
		msg.Sequence++
		if err := n.m.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		msg.Sequence++
		n.m.Send(ctx, msg)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Send, want 0", allocs)
	}
}

// TestTooManyFragments checks that a message refused because it needs more
// fragments than a frame can number (2^16, reachable with a small MTU below
// the maximum message size) uses no sequence number: receivers must not
// count a message that was never sent as lost.
func TestTooManyFragments(t *testing.T) {
	if !netns(t) {
		return
	}
	pub, sub := newNode(t, multicast.WithMTU(256)), newNode(t)
	got := subscribe(t, sub, bytesTopic)
	ctx := context.Background()
	seq := uint64(0)
	send := func(payload []byte) error {
		b, err := proto.Marshal(wrapperspb.Bytes(payload))
		if err != nil {
			t.Fatal(err)
		}
		seq++
		return pub.m.Send(ctx, &plexo.Message{Topic: bytesTopic.Name(), Payload: b, Origin: pub.p.ID(), Sequence: seq})
	}
	if err := send([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if len(got.wait(1, 5*time.Second)) != 1 {
		t.Fatal("first message not delivered")
	}
	// 15 MB: under the 16 MiB maximum, over 65,535 fragments of 256 bytes.
	if err := send(make([]byte, 15<<20)); !errors.Is(err, plexo.ErrMessageTooLarge) {
		t.Fatalf("sending 15 MB in 256-byte datagrams: %v, want %v", err, plexo.ErrMessageTooLarge)
	}
	if err := send([]byte("second")); err != nil {
		t.Fatal(err)
	}
	if v := got.wait(2, 5*time.Second); len(v) != 2 || string(v[1].Value) != "second" {
		t.Fatalf("delivered %d messages, want the first and the second", len(v))
	}
	if stats := sub.m.Stats(); stats.Gaps != 0 || stats.NAKsSent != 0 {
		t.Errorf("the receiver counted %d messages lost and sent %d NAKs for a message never sent", stats.Gaps, stats.NAKsSent)
	}
}

// TestHugeMaxMessageSize checks that a maximum message size beyond what the
// format can carry, as a user asking for "no limit" would set, still lets
// fragmented messages through.
func TestHugeMaxMessageSize(t *testing.T) {
	if !netns(t) {
		return
	}
	opt := multicast.WithMaxMessageSize(math.MaxInt)
	pub, sub := newNode(t, opt), newNode(t, opt)
	got := subscribe(t, sub, bytesTopic)
	payload := bytes.Repeat([]byte("fragmented "), 1000) // 11 kB: 9 datagrams
	if err := bytesTopic.Publish(context.Background(), pub.p, wrapperspb.Bytes(payload)); err != nil {
		t.Fatal(err)
	}
	if v := got.wait(1, 5*time.Second); len(v) != 1 || !bytes.Equal(v[0].Value, payload) {
		t.Fatalf("delivered %d messages, want the fragmented one (stats %+v)", len(v), sub.m.Stats())
	}
}
