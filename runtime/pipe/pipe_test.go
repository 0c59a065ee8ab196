package pipe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/pipe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var topic = plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Int64Value.proto")

func TestQueueOverflowDropsAndCounts(t *testing.T) {
	ctx := t.Context()
	a, b := pipe.New(pipe.WithQueueSize(2))
	pa := plexo.New()
	defer pa.Close()
	if err := pa.Attach(a); err != nil {
		t.Fatal(err)
	}
	// The far end's host blocks in its first delivery, so b's queue fills.
	release := make(chan struct{})
	blocked := &blockingHost{release: release}
	if err := b.Start(blocked); err != nil {
		t.Fatal(err)
	}
	b.Advertise(topic.Name(), 1)
	ctxWait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pa.WaitForInterest(ctxWait, topic.Name()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := topic.Publish(ctx, pa, wrapperspb.Int64(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if s := a.Stats(); s.Dropped == 0 || s.Sent+s.Dropped != 10 {
		t.Errorf("stats %+v: want drops, and sent+dropped = 10", s)
	}
	close(release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStartTwiceAndAfterClose(t *testing.T) {
	a, b := pipe.New()
	defer b.Close()
	if err := a.Start(&blockingHost{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(&blockingHost{}); !errors.Is(err, plexo.ErrAttached) {
		t.Errorf("second Start: got %v, want ErrAttached", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.Start(&blockingHost{}); err != nil {
		t.Fatal(err)
	}
	msg := &plexo.Message{Topic: topic.Name()}
	if err := a.Send(t.Context(), msg); !errors.Is(err, plexo.ErrClosed) {
		t.Errorf("Send on a closed end: got %v, want ErrClosed", err)
	}
}

func TestPeerCloseWithdrawsInterest(t *testing.T) {
	ctx := t.Context()
	a, b := pipe.New()
	pa, pb := plexo.New(), plexo.New()
	defer pa.Close()
	if err := pa.Attach(a); err != nil {
		t.Fatal(err)
	}
	if err := pb.Attach(b); err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(ctx, pb, func(context.Context, *wrapperspb.Int64Value) {}); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pa.WaitForInterest(waitCtx, topic.Name()); err != nil {
		t.Fatal(err)
	}
	if err := pb.Close(); err != nil { // closes b
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); pa.Stats().Topics[topic.Name()].InterestedTransports != 0; {
		if time.Now().After(deadline) {
			t.Fatal("interest of a closed peer was not withdrawn")
		}
		time.Sleep(time.Millisecond)
	}
}

// blockingHost is a Host whose Deliver waits for release.
type blockingHost struct {
	plexo.Host
	release chan struct{}
}

func (h *blockingHost) Deliver(*plexo.Message)  { <-h.release }
func (h *blockingHost) SetInterest(string, int) {}
