package plexo_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"pgregory.net/rapid"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/interest"
	"github.com/plexo-go/plexo/internal/plexotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	stringTopic = plexo.NewTopic[*wrapperspb.StringValue]("test.v1.StringValue.proto")
	int64Topic  = plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Int64Value.proto")
)

type collector[T any] = plexotest.Collector[T]

func newCollector[T any]() *collector[T] { return new(collector[T]) }

var eventually = plexotest.Eventually

func newPlexus(t *testing.T, opts ...plexo.PlexusOption) *plexo.Plexus {
	t.Helper()
	p := plexo.New(opts...)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func TestLocalDeliveryIsTheSamePointerInOrder(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	c := newCollector[*wrapperspb.StringValue]()
	if _, err := stringTopic.Subscribe(ctx, p, c.Handle); err != nil {
		t.Fatal(err)
	}
	var sent []*wrapperspb.StringValue
	for i := range 500 {
		msg := wrapperspb.String(string(rune('a' + i%26)))
		sent = append(sent, msg)
		if err := stringTopic.Publish(ctx, p, msg); err != nil {
			t.Fatal(err)
		}
	}
	got := c.WaitFor(t, len(sent))
	for i := range sent {
		if got[i] != sent[i] {
			t.Fatalf("message %d: got %p, want the published pointer %p", i, got[i], sent[i])
		}
	}
}

func TestEverySubscriptionReceivesEveryMessage(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	cs := []*collector[*wrapperspb.StringValue]{newCollector[*wrapperspb.StringValue](), newCollector[*wrapperspb.StringValue]()}
	for _, c := range cs {
		if _, err := stringTopic.Subscribe(ctx, p, c.Handle); err != nil {
			t.Fatal(err)
		}
	}
	other := newCollector[*wrapperspb.Int64Value]()
	if _, err := int64Topic.Subscribe(ctx, p, other.Handle); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := stringTopic.Publish(ctx, p, wrapperspb.String("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		c.WaitFor(t, 10)
	}
	if n := len(other.Snapshot()); n != 0 {
		t.Errorf("a subscriber of another topic received %d messages", n)
	}
}

func TestErrors(t *testing.T) {
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	sameNameOtherType := plexo.NewTopic[*wrapperspb.Int64Value](stringTopic.Name())
	nop := func(context.Context, *wrapperspb.StringValue) {}

	closed := plexo.New()
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		run  func(p *plexo.Plexus) error
		want error
	}{
		{"publish nil", func(p *plexo.Plexus) error { return stringTopic.Publish(ctx, p, nil) }, plexo.ErrNilMessage},
		{"publish after close", func(*plexo.Plexus) error { return stringTopic.Publish(ctx, closed, wrapperspb.String("x")) }, plexo.ErrClosed},
		{"subscribe after close", func(*plexo.Plexus) error {
			_, err := stringTopic.Subscribe(ctx, closed, nop)
			return err
		}, plexo.ErrClosed},
		{"attach after close", func(*plexo.Plexus) error { return closed.Attach(nopTransport{}) }, plexo.ErrClosed},
		{"publish with cancelled context", func(p *plexo.Plexus) error { return stringTopic.Publish(cancelled, p, wrapperspb.String("x")) }, context.Canceled},
		{"subscribe with cancelled context", func(p *plexo.Plexus) error {
			_, err := stringTopic.Subscribe(cancelled, p, nop)
			return err
		}, context.Canceled},
		{"subscribe with nil handler", func(p *plexo.Plexus) error {
			_, err := stringTopic.Subscribe(ctx, p, nil)
			return err
		}, plexo.ErrNilHandler},
		{"zero topic", func(p *plexo.Plexus) error {
			var zero plexo.Topic[*wrapperspb.StringValue]
			return zero.Publish(ctx, p, wrapperspb.String("x"))
		}, plexo.ErrInvalidTopic},
		{"one name, two types", func(p *plexo.Plexus) error {
			if err := stringTopic.Publish(ctx, p, wrapperspb.String("x")); err != nil {
				return err
			}
			return sameNameOtherType.Publish(ctx, p, wrapperspb.Int64(1))
		}, plexo.ErrTopicType},
		{"one name, two types, subscribing", func(p *plexo.Plexus) error {
			if _, err := sameNameOtherType.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) {}); err != nil {
				return err
			}
			_, err := stringTopic.Subscribe(ctx, p, nop)
			return err
		}, plexo.ErrTopicType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(newPlexus(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTopicTypeErrorNamesBothTypes(t *testing.T) {
	p := newPlexus(t)
	if err := stringTopic.Publish(t.Context(), p, wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	err := plexo.NewTopic[*wrapperspb.Int64Value](stringTopic.Name()).Publish(t.Context(), p, wrapperspb.Int64(1))
	var tte *plexo.TopicTypeError
	if !errors.As(err, &tte) {
		t.Fatalf("got %v, want a *TopicTypeError", err)
	}
	if tte.Topic != stringTopic.Name() || tte.Bound.String() != "*wrapperspb.StringValue" || tte.Used.String() != "*wrapperspb.Int64Value" {
		t.Errorf("got %+v", tte)
	}
}

func TestTwoTopicValuesOfOneTypeShareAName(t *testing.T) {
	p := newPlexus(t)
	again := plexo.NewTopic[*wrapperspb.StringValue](stringTopic.Name())
	c := newCollector[*wrapperspb.StringValue]()
	if _, err := stringTopic.Subscribe(t.Context(), p, c.Handle); err != nil {
		t.Fatal(err)
	}
	if err := again.Publish(t.Context(), p, wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(t, 1)
}

// gate blocks a handler until it is opened.
type gate struct {
	entered chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1000), open: make(chan struct{})} }

func TestOverflowPolicies(t *testing.T) {
	const queue = 4
	tests := []struct {
		policy      plexo.Overflow
		wantValues  []int64 // what the handler sees after the first, blocked one
		wantDropped uint64
	}{
		{plexo.OverflowDropOldest, []int64{7, 8, 9, 10}, 5},
		{plexo.OverflowDropNewest, []int64{2, 3, 4, 5}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			ctx := t.Context()
			p := newPlexus(t)
			g := newGate()
			c := newCollector[int64]()
			sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
				if m.Value == 1 {
					g.entered <- struct{}{}
					<-g.open
				}
				c.Handle(ctx, m.Value)
			}, plexo.WithQueueSize(queue), plexo.WithOverflow(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			publish(t, p, 1)
			<-g.entered // the handler holds message 1; the queue is empty
			publish(t, p, 2, 3, 4, 5, 6, 7, 8, 9, 10)
			close(g.open)
			got := c.WaitFor(t, 1+queue)
			want := append([]int64{1}, tt.wantValues...)
			if !equal(got, want) {
				t.Errorf("handled %v, want %v", got, want)
			}
			if s := sub.Stats(); s.Dropped != tt.wantDropped {
				t.Errorf("Dropped = %d, want %d", s.Dropped, tt.wantDropped)
			}
			if s := p.Stats().Topics[int64Topic.Name()]; s.Dropped != tt.wantDropped {
				t.Errorf("Plexus Stats Dropped = %d, want %d", s.Dropped, tt.wantDropped)
			}
		})
	}
}

func TestOverflowBlockWaitsWithinTheContext(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	g := newGate()
	c := newCollector[int64]()
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		if m.Value == 1 {
			g.entered <- struct{}{}
			<-g.open
		}
		c.Handle(ctx, m.Value)
	}, plexo.WithQueueSize(1), plexo.WithOverflow(plexo.OverflowBlock))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1)
	<-g.entered
	publish(t, p, 2) // fills the queue

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := int64Topic.Publish(short, p, wrapperspb.Int64(3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a full blocking queue: got %v, want DeadlineExceeded", err)
	}

	done := make(chan error)
	go func() { done <- int64Topic.Publish(ctx, p, wrapperspb.Int64(4)) }()
	select {
	case err := <-done:
		t.Fatalf("publish returned %v while the queue was full", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := c.WaitFor(t, 3); !equal(got, []int64{1, 2, 4}) {
		t.Errorf("handled %v, want [1 2 4]", got)
	}
	if s := sub.Stats(); s.Dropped != 1 {
		t.Errorf("Dropped = %d, want 1 (the message whose publish timed out)", s.Dropped)
	}
}

func TestSlowSubscriptionDoesNotBlockOthers(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	g := newGate()
	defer close(g.open)
	if _, err := int64Topic.Subscribe(ctx, p, func(context.Context, *wrapperspb.Int64Value) { <-g.open }, plexo.WithQueueSize(1)); err != nil {
		t.Fatal(err)
	}
	fast := newCollector[*wrapperspb.Int64Value]()
	if _, err := int64Topic.Subscribe(ctx, p, fast.Handle); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		publish(t, p, int64(i))
	}
	fast.WaitFor(t, 100)
}

func TestHandlerPanicIsRecoveredAndCounted(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t, plexo.WithLogger(discardLogger()))
	c := newCollector[int64]()
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		if m.Value == 2 {
			panic("sensor on fire")
		}
		c.Handle(ctx, m.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1, 2, 3)
	if got := c.WaitFor(t, 2); !equal(got, []int64{1, 3}) {
		t.Errorf("handled %v, want [1 3]", got)
	}
	// Delivered counts a handler call once it has returned.
	eventually(t, "the counters settle", func() bool { return sub.Stats().Delivered == 2 })
	if s := sub.Stats(); s.Panics != 1 || s.Delivered != 2 {
		t.Errorf("Stats = %+v, want 1 panic and 2 delivered", s)
	}
}

func TestSubscriptionClose(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	var handled atomic.Int64
	var handlerCtx context.Context
	entered := make(chan struct{})
	sub, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) {
		handled.Add(1)
		handlerCtx = ctx
		close(entered)
		<-ctx.Done() // a long handler that honours cancellation
	})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, 1)
	<-entered
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if handlerCtx.Err() == nil {
		t.Error("the handler's context is not cancelled after Close")
	}
	if err := sub.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	publish(t, p, 2)
	if n := handled.Load(); n != 1 {
		t.Errorf("handled %d messages, want 1: a closed subscription received a message", n)
	}
	if s := p.Stats().Topics[int64Topic.Name()]; s.Subscriptions != 0 || s.Delivered != 1 {
		t.Errorf("Stats after Close = %+v, want 0 subscriptions and 1 delivered", s)
	}

	// Subscribing again works.
	c := newCollector[int64]()
	if _, err := int64Topic.Subscribe(ctx, p, func(ctx context.Context, m *wrapperspb.Int64Value) { c.Handle(ctx, m.Value) }); err != nil {
		t.Fatal(err)
	}
	publish(t, p, 3)
	if got := c.WaitFor(t, 1); !equal(got, []int64{3}) {
		t.Errorf("resubscribed handler got %v, want [3]", got)
	}
}

func TestPlexusCloseIsIdempotentAndConcurrent(t *testing.T) {
	p := plexo.New()
	closedTransport := &recordingTransport{}
	if err := p.Attach(closedTransport); err != nil {
		t.Fatal(err)
	}
	subs := make([]*plexo.Subscription, 3)
	for i := range subs {
		var err error
		subs[i], err = int64Topic.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) {})
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	if n := closedTransport.closes.Load(); n != 1 {
		t.Errorf("transport closed %d times, want 1", n)
	}
	for _, s := range subs {
		if err := s.Close(); err != nil {
			t.Errorf("Subscription.Close after Plexus.Close: %v", err)
		}
	}
	// goleak in TestMain checks that no subscription goroutine is left.
}

func TestAttachTwiceFails(t *testing.T) {
	p := newPlexus(t)
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(tr); !errors.Is(err, plexo.ErrAttached) {
		t.Errorf("second Attach: got %v, want ErrAttached", err)
	}
}

func TestWaitForInterest(t *testing.T) {
	p := newPlexus(t)
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := p.WaitForInterest(short, int64Topic.Name()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForInterest with no peer interest: got %v", err)
	}
	done := make(chan error)
	go func() { done <- p.WaitForInterest(t.Context(), int64Topic.Name()) }()
	tr.host.SetInterest(int64Topic.Name(), 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestJSONTopicsEncodeAsProtoJSON(t *testing.T) {
	p := newPlexus(t)
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	jsonTopic := plexo.NewTopic[*wrapperspb.StringValue]("test.v1.StringValue.json")
	if got := jsonTopic.Codec().Name(); got != "json" {
		t.Fatalf("codec of a .json topic: %q", got)
	}
	if got := stringTopic.Codec().Name(); got != "proto" {
		t.Fatalf("codec of a .proto topic: %q", got)
	}
	tr.host.SetInterest(jsonTopic.Name(), 1)
	if err := jsonTopic.Publish(t.Context(), p, wrapperspb.String("21.5 C")); err != nil {
		t.Fatal(err)
	}
	sent := tr.sentMessages()
	if len(sent) != 1 || string(sent[0].Payload) != `"21.5 C"` {
		t.Fatalf("sent %v, want the protojson encoding", sent)
	}
}

func publish(t *testing.T, p *plexo.Plexus, values ...int64) {
	t.Helper()
	for _, v := range values {
		if err := int64Topic.Publish(t.Context(), p, wrapperspb.Int64(v)); err != nil {
			t.Fatal(err)
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUnfilteredTransportGetsTheFirstPublish(t *testing.T) {
	for _, attachFirst := range []bool{true, false} {
		name := "attached before the topic is used"
		if !attachFirst {
			name = "attached after the topic is used"
		}
		t.Run(name, func(t *testing.T) {
			p := newPlexus(t)
			tr := &unfilteredTransport{}
			if !attachFirst {
				publish(t, p, 0) // creates the route, sent nowhere
			}
			if err := p.Attach(tr); err != nil {
				t.Fatal(err)
			}
			publish(t, p, 1)
			if sent := tr.sentMessages(); len(sent) != 1 || sent[0].Topic != int64Topic.Name() {
				t.Fatalf("sent %v, want the first publish with no interest reported", sent)
			}
		})
	}
}

// unfilteredTransport wants every message, like multicast.
type unfilteredTransport struct{ recordingTransport }

func (*unfilteredTransport) Unfiltered() bool { return true }

func TestInterestIsADistanceVector(t *testing.T) {
	p := newPlexus(t)
	a, b, c := &recordingTransport{}, &recordingTransport{}, &recordingTransport{}
	for _, tr := range []*recordingTransport{a, b, c} {
		if err := p.Attach(tr); err != nil {
			t.Fatal(err)
		}
	}
	topic := int64Topic.Name()
	check := func(step string, wantA, wantB, wantC int) {
		t.Helper()
		if got := []int{a.advertisedHops(topic), b.advertisedHops(topic), c.advertisedHops(topic)}; got[0] != wantA || got[1] != wantB || got[2] != wantC {
			t.Errorf("%s: advertised %v to a, b, c; want [%d %d %d]", step, got, wantA, wantB, wantC)
		}
	}

	a.host.SetInterest(topic, 2)
	check("a's peers are 2 hops from a subscriber", 0, 3, 3) // never back to a
	b.host.SetInterest(topic, 1)
	check("b's peer subscribes", 2, 3, 2)
	sub, err := int64Topic.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) {})
	if err != nil {
		t.Fatal(err)
	}
	check("a local subscriber", 1, 1, 1)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	check("the local subscriber leaves", 2, 3, 2)
	b.host.SetInterest(topic, 0)
	a.host.SetInterest(topic, plexo.MaxHops)
	check("beyond MaxHops counts as nobody", 0, 0, 0)
	if n := p.Stats().Topics[topic].InterestedTransports; n != 1 {
		t.Errorf("InterestedTransports = %d, want 1 (a still reports a subscriber within MaxHops)", n)
	}
}

// TestInterestMatchesModel has three transports' peers report random
// distances, out of range too, while a local subscriber comes and goes, and
// compares what the Plexus advertises to each transport with the rule
// written out by brute force.
func TestInterestMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p := plexo.New()
		defer p.Close()
		trs := []*recordingTransport{{}, {}, {}}
		for _, tr := range trs {
			if err := p.Attach(tr); err != nil {
				rt.Fatal(err)
			}
		}
		topic := int64Topic.Name()
		reports := make([]int, len(trs))
		var sub *plexo.Subscription
		defer func() {
			if sub != nil {
				_ = sub.Close()
			}
		}()
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			if i := rapid.IntRange(-1, len(trs)-1).Draw(rt, "transport"); i < 0 {
				if sub == nil {
					var err error
					sub, err = int64Topic.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) {})
					if err != nil {
						rt.Fatal(err)
					}
				} else {
					if err := sub.Close(); err != nil {
						rt.Fatal(err)
					}
					sub = nil
				}
			} else {
				h := rapid.IntRange(-1, plexo.MaxHops+1).Draw(rt, "hops")
				trs[i].host.SetInterest(topic, h)
				if h < 0 || h > plexo.MaxHops {
					h = 0
				}
				reports[i] = h
			}
			for i, tr := range trs {
				want := 0
				if sub != nil {
					want = 1
				} else {
					for j, h := range reports {
						if j != i && h > 0 && (want == 0 || h+1 < want) {
							want = h + 1
						}
					}
					if want > plexo.MaxHops {
						want = 0
					}
				}
				if got := tr.advertisedHops(topic); got != want {
					rt.Fatalf("advertised %d to transport %d, want %d (reports %v, local %v)", got, i, want, reports, sub != nil)
				}
			}
		}
	})
}

// TestMaxHopsIsInternalInterests keeps the cap that internal/interest
// applies equal to the exported one.
func TestMaxHopsIsInternalInterests(t *testing.T) {
	if plexo.MaxHops != interest.MaxHops {
		t.Errorf("plexo.MaxHops = %d, interest.MaxHops = %d", plexo.MaxHops, interest.MaxHops)
	}
}

func TestErrorMessagesNameOperationAndTopicOnce(t *testing.T) {
	p := plexo.New()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	err := int64Topic.Publish(t.Context(), p, wrapperspb.Int64(1))
	if want := "plexo: publish test.v1.Int64Value.proto: closed"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, plexo.ErrClosed) {
		t.Errorf("%v does not wrap ErrClosed", err)
	}
}

// closeErrTransport fails its Close after a while, so that a second Close
// of its Plexus has something to wait for.
type closeErrTransport struct {
	recordingTransport
	release chan struct{}
}

func (t *closeErrTransport) Close() error {
	<-t.release
	return errors.New("transport close failed")
}

func TestConcurrentCloseWaitsForTheFirstAndSharesItsResult(t *testing.T) {
	p := plexo.New()
	tr := &closeErrTransport{release: make(chan struct{})}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 2)
	go func() { results <- p.Close() }()
	go func() { results <- p.Close() }()
	select {
	case err := <-results:
		t.Fatalf("a Close returned (%v) before the transport had closed", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(tr.release)
	for range 2 {
		if err := <-results; err == nil || !strings.Contains(err.Error(), "transport close failed") {
			t.Fatalf("Close = %v, want the transport's error", err)
		}
	}
	if err := p.Close(); err == nil {
		t.Fatal("a later Close did not return the first one's result")
	}
}

func TestAttachToAClosedPlexusClosesTheTransport(t *testing.T) {
	p := plexo.New()
	_ = p.Close()
	tr := &recordingTransport{}
	if err := p.Attach(tr); !errors.Is(err, plexo.ErrClosed) {
		t.Fatalf("Attach after Close = %v, want ErrClosed", err)
	}
	if n := tr.closes.Load(); n != 1 {
		t.Fatalf("transport closed %d times, want 1", n)
	}
}
