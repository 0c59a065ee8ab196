package plexo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// rawCopy is what a raw handler saw, copied out of the handler call.
type rawCopy struct {
	topic, codec string
	payload      string
	origin       uint64
}

func collectRaw(c *plexotest.Collector[rawCopy]) func(context.Context, *plexo.RawMessage) {
	return func(_ context.Context, m *plexo.RawMessage) {
		c.Add(rawCopy{m.Topic, m.Codec, string(m.Payload), m.Origin})
	}
}

func TestSubscribeRawGetsLocalAndRemoteMessagesEncoded(t *testing.T) {
	ctx := t.Context()
	pub, sub := newPlexus(t), newPlexus(t)
	connect(t, pub, sub)
	local := new(plexotest.Collector[rawCopy])
	if _, err := pub.SubscribeRaw(ctx, int64Topic.Name(), collectRaw(local)); err != nil {
		t.Fatal(err)
	}
	remote := new(plexotest.Collector[rawCopy])
	if _, err := sub.SubscribeRaw(ctx, int64Topic.Name(), collectRaw(remote)); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, pub, int64Topic.Name())
	publish(t, pub, 7, 8)

	for _, c := range []struct {
		name string
		got  []rawCopy
	}{{"local", local.WaitFor(t, 2)}, {"remote", remote.WaitFor(t, 2)}} {
		for i, want := range []int64{7, 8} {
			m := c.got[i]
			var v wrapperspb.Int64Value
			if err := proto.Unmarshal([]byte(m.payload), &v); err != nil || v.Value != want {
				t.Fatalf("%s message %d: %v (%v), want %d", c.name, i, v.Value, err, want)
			}
			if m.topic != int64Topic.Name() || m.codec != plexo.CodecNameProto || m.origin != pub.ID() {
				t.Fatalf("%s message %d: topic %q codec %q origin %x; want %q, proto, %x", c.name, i, m.topic, m.codec, m.origin, int64Topic.Name(), pub.ID())
			}
		}
	}
}

func TestPublishRawReachesTypedSubscribersHereAndRemote(t *testing.T) {
	ctx := t.Context()
	pub, sub := newPlexus(t), newPlexus(t)
	connect(t, pub, sub)
	local, remote := new(plexotest.Collector[int64]), new(plexotest.Collector[int64])
	for _, s := range []struct {
		p *plexo.Plexus
		c *plexotest.Collector[int64]
	}{{pub, local}, {sub, remote}} {
		if _, err := int64Topic.Subscribe(ctx, s.p, func(_ context.Context, m *wrapperspb.Int64Value) { s.c.Add(m.Value) }); err != nil {
			t.Fatal(err)
		}
	}
	waitForInterest(t, pub, int64Topic.Name())
	for _, v := range []int64{1, 2} {
		b, _ := proto.Marshal(wrapperspb.Int64(v))
		if err := pub.PublishRaw(ctx, int64Topic.Name(), b); err != nil {
			t.Fatal(err)
		}
	}
	if got := local.WaitFor(t, 2); !equal(got, []int64{1, 2}) {
		t.Fatalf("local typed subscriber got %v", got)
	}
	if got := remote.WaitFor(t, 2); !equal(got, []int64{1, 2}) {
		t.Fatalf("remote typed subscriber got %v", got)
	}

	// Bytes that do not decode as the local subscriber's type go nowhere.
	if err := pub.PublishRaw(ctx, int64Topic.Name(), []byte{0xff, 0xff}); err == nil {
		t.Fatal("PublishRaw of undecodable bytes to a typed subscriber succeeded")
	}
	if st := pub.Stats().Topics[int64Topic.Name()]; st.Published != 2 {
		t.Fatalf("Published = %d, want 2", st.Published)
	}
}

func TestRawAPIRefusesBadInput(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	nop := func(context.Context, *plexo.RawMessage) {}
	for _, name := range []string{"", "nodots", "a..b", ".a.b", "a.b.", "a b.proto", "a.b*.proto", "a.>"} {
		if _, err := p.SubscribeRaw(ctx, name, nop); !errors.Is(err, plexo.ErrInvalidTopic) {
			t.Errorf("SubscribeRaw(%q) = %v, want ErrInvalidTopic", name, err)
		}
		if err := p.PublishRaw(ctx, name, nil); !errors.Is(err, plexo.ErrInvalidTopic) {
			t.Errorf("PublishRaw(%q) = %v, want ErrInvalidTopic", name, err)
		}
	}
	if _, err := p.SubscribeRaw(ctx, "a.B.proto", nil); !errors.Is(err, plexo.ErrNilHandler) {
		t.Errorf("SubscribeRaw with a nil handler = %v, want ErrNilHandler", err)
	}
	if !plexo.ValidTopicName("org.podcastindex.podping.hivewriter.PodpingWrite.capnp") {
		t.Error("pyplexo's topic name is not valid")
	}
	_ = p.Close()
	if err := p.PublishRaw(ctx, "a.B.proto", nil); !errors.Is(err, plexo.ErrClosed) {
		t.Errorf("PublishRaw after Close = %v, want ErrClosed", err)
	}
}

func TestRawPayloadIsTheHandlersUntilItReturns(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	got := new(plexotest.Collector[string])
	gate := make(chan struct{})
	if _, err := p.SubscribeRaw(ctx, "a.B.proto", func(_ context.Context, m *plexo.RawMessage) {
		<-gate
		got.Add(string(m.Payload))
	}); err != nil {
		t.Fatal(err)
	}
	buf := []byte("first")
	if err := p.PublishRaw(ctx, "a.B.proto", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX") // the caller reuses its buffer at once
	if err := p.PublishRaw(ctx, "a.B.proto", []byte("second")); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if g := got.WaitFor(t, 2); g[0] != "first" || g[1] != "second" {
		t.Fatalf("handler saw %q", g)
	}
}

func TestRawMessageSaysWhenItWasReceivedNotWhenItWasHandled(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	received := new(plexotest.Collector[time.Time])
	gate := make(chan struct{})
	if _, err := p.SubscribeRaw(ctx, "a.B.proto", func(_ context.Context, m *plexo.RawMessage) {
		<-gate // the handler is slow: the second message waits in the queue
		received.Add(m.Received)
	}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	for _, payload := range []string{"first", "second"} {
		if err := p.PublishRaw(ctx, "a.B.proto", []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()
	time.Sleep(20 * time.Millisecond)
	close(gate)
	for i, at := range received.WaitFor(t, 2) {
		if at.Before(before) || at.After(after) {
			t.Errorf("message %d: Received %v, want between %v and %v, when it was published", i, at, before, after)
		}
	}
}

func TestRawDeliveryDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ctx := t.Context()
	p := newPlexus(t)
	done := make(chan struct{}, 1)
	if _, err := p.SubscribeRaw(ctx, "a.B.proto", func(context.Context, *plexo.RawMessage) { done <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 128)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := p.PublishRaw(ctx, "a.B.proto", payload); err != nil {
			t.Fatal(err)
		}
		<-done
	})
	if allocs > 0 {
		t.Fatalf("PublishRaw to a raw subscriber: %v allocations per message, want 0", allocs)
	}
}
