// Package plexotest holds the test helpers that plexo's own packages share:
// a collector of what handlers receive, and polling with a deadline, so
// that tests wait for asynchronous delivery without sleeping blindly.
package plexotest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
)

// Timeout bounds every wait of this package: long enough for a loaded CI
// machine running tests under the race detector, short enough that a
// broken test fails instead of hanging.
const Timeout = 10 * time.Second

// A Collector records the values a handler receives. The zero Collector is
// ready to use, and its methods are safe for concurrent use.
type Collector[T any] struct {
	mu  sync.Mutex
	got []T
}

// Add records v.
func (c *Collector[T]) Add(v T) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
}

// Handle records v; it has the shape of a plexo handler.
func (c *Collector[T]) Handle(_ context.Context, v T) { c.Add(v) }

// Snapshot returns what was recorded so far, in order.
func (c *Collector[T]) Snapshot() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// Len returns how many values were recorded.
func (c *Collector[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// WaitFor waits until at least n values were recorded and returns them,
// failing the test after [Timeout].
func (c *Collector[T]) WaitFor(t testing.TB, n int) []T {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for c.Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages, want %d", c.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return c.Snapshot()
}

// Eventually polls cond until it holds, failing the test after [Timeout].
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(Timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// WaitForInterest waits until a peer of p wants topic, failing the test
// after [Timeout].
func WaitForInterest(t testing.TB, p *plexo.Plexus, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := p.WaitForInterest(ctx, topic); err != nil {
		t.Fatal(err)
	}
}

// ExchangeBothWays subscribes a and b to topic, waits until each wants what
// the other publishes, publishes "from a" on a and "from b" on b, and fails
// the test unless each side received exactly those two messages. It returns
// what each side received, for checks of the caller's own.
func ExchangeBothWays(t testing.TB, topic plexo.Topic[*wrapperspb.StringValue], a, b *plexo.Plexus) (atA, atB *Collector[string]) {
	t.Helper()
	ctx := t.Context()
	atA, atB = new(Collector[string]), new(Collector[string])
	sides := []struct {
		name string
		p    *plexo.Plexus
		c    *Collector[string]
	}{{"a", a, atA}, {"b", b, atB}}
	for _, s := range sides {
		c := s.c
		if _, err := topic.Subscribe(ctx, s.p, func(_ context.Context, m *wrapperspb.StringValue) { c.Add(m.Value) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sides {
		WaitForInterest(t, s.p, topic.Name())
	}
	for _, s := range sides {
		if err := topic.Publish(ctx, s.p, wrapperspb.String("from "+s.name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sides {
		got := s.c.WaitFor(t, 2)
		slices.Sort(got)
		if !slices.Equal(got, []string{"from a", "from b"}) {
			t.Errorf("%s received %q, want one message from each side", s.name, got)
		}
	}
	return atA, atB
}

// CheckDirectory has publisher publish a message on topic and fails the test
// unless a Directory of tool soon lists the topic, its message type and its
// publisher, and decodes the message that tool receives raw with the
// descriptor the publisher shares. Transports call it to show that the
// directory crosses them.
func CheckDirectory(t testing.TB, topic plexo.Topic[*wrapperspb.StringValue], tool, publisher *plexo.Plexus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	raw := new(Collector[[]byte])
	sub, err := tool.SubscribeRaw(ctx, topic.Name(), func(_ context.Context, m *plexo.RawMessage) {
		raw.Add(slices.Clone(m.Payload))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	WaitForInterest(t, publisher, topic.Name())
	if err := topic.Publish(ctx, publisher, wrapperspb.String("described")); err != nil {
		t.Fatal(err)
	}

	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var info plexo.TopicInfo
	Eventually(t, "the directory lists the publisher of "+topic.Name(), func() bool {
		var ok bool
		info, ok = d.Lookup(topic.Name())
		return ok && slices.Contains(info.Publishers, publisher.ID())
	})
	if info.Message != "google.protobuf.StringValue" || info.Codec != topic.Codec().Name() {
		t.Fatalf("directory entry %+v: want message google.protobuf.StringValue, codec %s", info, topic.Codec().Name())
	}
	md, err := d.Descriptor(ctx, info.Message)
	if err != nil {
		t.Fatal(err)
	}
	msg := dynamicpb.NewMessage(md)
	if err := topic.Codec().Unmarshal(raw.WaitFor(t, 1)[0], msg); err != nil {
		t.Fatal(err)
	}
	if got := msg.Get(md.Fields().ByName("value")).String(); got != "described" {
		t.Fatalf("decoded with the shared descriptor: value %q, want %q", got, "described")
	}
}
