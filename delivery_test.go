package plexo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// receiving attaches a transport whose Host the test drives, and returns the
// Plexus with n subscriptions to stringTopic, each collecting what it gets.
func receiving(t *testing.T, n int) (*plexo.Plexus, plexo.Host, []*plexotest.Collector[*wrapperspb.StringValue]) {
	t.Helper()
	p := plexo.New(plexo.WithLogger(discardLogger()))
	t.Cleanup(func() { _ = p.Close() })
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	var got []*plexotest.Collector[*wrapperspb.StringValue]
	for range n {
		c := new(plexotest.Collector[*wrapperspb.StringValue])
		if _, err := stringTopic.Subscribe(context.Background(), p, c.Handle); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	return p, tr.host, got
}

// A transport reuses its buffer as soon as Deliver returns, while handlers
// run later: what they get must not change with the buffer, for one
// subscription or several, small messages or large.
func TestDeliveredMessagesDoNotShareTheTransportBuffer(t *testing.T) {
	for _, tc := range []struct {
		subs int
		pad  string
	}{{1, ""}, {2, ""}, {1, strings.Repeat(".", 4096)}} {
		t.Run(fmt.Sprintf("subscriptions=%d/size=%d", tc.subs, len(tc.pad)), func(t *testing.T) {
			subs := tc.subs
			_, host, got := receiving(t, subs)
			buf := make([]byte, 0, 64)
			const n = 100
			for i := range n {
				payload, err := proto.MarshalOptions{}.MarshalAppend(buf[:0], wrapperspb.String(fmt.Sprintf("message %03d", i)+tc.pad))
				if err != nil {
					t.Fatal(err)
				}
				host.Deliver(&plexo.Message{Topic: stringTopic.Name(), Payload: payload, Origin: 9, Sequence: uint64(i + 1)})
				clear(payload) // as a transport reading its next frame would
			}
			for _, c := range got {
				msgs := c.WaitFor(t, n)
				for i, m := range msgs {
					if want := fmt.Sprintf("message %03d", i) + tc.pad; m.GetValue() != want {
						t.Fatalf("message %d is %q, want %q", i, m.GetValue(), want)
					}
				}
			}
			if subs > 1 {
				// Decoded once: every subscription sees the same message.
				for i, m := range got[0].Snapshot() {
					if got[1].Snapshot()[i] != m {
						t.Fatalf("message %d was decoded once per subscription", i)
					}
				}
			}
		})
	}
}

// An arrival that cannot be decoded is counted and skipped; the messages
// around it are delivered, and an empty message (all fields default, zero
// bytes on the wire) is a message like any other.
func TestUndecodableArrivalsAreCountedAndSkipped(t *testing.T) {
	for _, subs := range []int{1, 2} {
		t.Run(fmt.Sprintf("subscriptions=%d", subs), func(t *testing.T) {
			p, host, got := receiving(t, subs)
			good, err := proto.Marshal(wrapperspb.String("good"))
			if err != nil {
				t.Fatal(err)
			}
			for i, payload := range [][]byte{good, {0xff, 0xff, 0xff}, nil, good} {
				host.Deliver(&plexo.Message{Topic: stringTopic.Name(), Payload: payload, Origin: 9, Sequence: uint64(i + 1)})
			}
			for _, c := range got {
				msgs := c.WaitFor(t, 3)
				if msgs[0].GetValue() != "good" || msgs[1].GetValue() != "" || msgs[2].GetValue() != "good" {
					t.Fatalf("delivered %v, want good, empty, good", msgs)
				}
			}
			if s := p.Stats().Topics[stringTopic.Name()]; s.DecodeErrors != 1 || s.Received != 4 {
				t.Fatalf("stats %+v, want 4 received and 1 decode error", s)
			}
		})
	}
}

// A peer withdrawing interest in a topic the Plexus never heard of leaves
// nothing behind: interest from the network must not create routes for
// nothing.
func TestWithdrawnInterestInAnUnknownTopicCreatesNothing(t *testing.T) {
	p := plexo.New()
	defer p.Close()
	tr := &recordingTransport{}
	if err := p.Attach(tr); err != nil {
		t.Fatal(err)
	}
	tr.host.SetInterest("test.v1.Unknown.proto", 0)
	if _, ok := p.Stats().Topics["test.v1.Unknown.proto"]; ok {
		t.Fatal("withdrawn interest created a route")
	}
	tr.host.SetInterest("test.v1.Known.proto", 2)
	tr.host.SetInterest("test.v1.Known.proto", 0)
	if s, ok := p.Stats().Topics["test.v1.Known.proto"]; !ok || s.InterestedTransports != 0 {
		t.Fatalf("after interest came and went: %+v, %v; want the route, with no interested transport", s, ok)
	}
}
