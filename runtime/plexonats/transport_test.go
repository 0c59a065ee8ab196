package plexonats_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/pipe"
	"github.com/plexo-go/plexo/runtime/plexonats"
	"github.com/plexo-go/plexo/runtime/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTypedDeliveryBothWaysAndOnceDespiteEcho(t *testing.T) {
	s := startServer(t, -1)
	a, b := newPlexus(t), newPlexus(t)
	ta := attach(t, a, connect(t, s.ClientURL()))
	tb := attach(t, b, connect(t, s.ClientURL()))
	atA, atB := plexotest.ExchangeBothWays(t, stringTopic, a, b)
	// NATS echoes each side's publish back to it; once the echo has been
	// dropped, each handler must still have seen each message once.
	for name, tr := range map[string]*plexonats.Transport{"a": ta, "b": tb} {
		eventually(t, name+"'s echo arrives", func() bool { return tr.Stats().Echoes == 1 })
	}
	for name, c := range map[string]*collector[string]{"a": atA, "b": atB} {
		if n := c.Len(); n != 2 {
			t.Errorf("%s's handler ran %d times, want 2", name, n)
		}
	}
}

func TestPlainSubscriberDecodesPayload(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []plexonats.Option
	}{
		{"declared with WithRemoteInterest", []plexonats.Option{plexonats.WithRemoteInterest(int64Topic.Name())}},
		{"unfiltered, nothing declared", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, -1)
			plain := connect(t, s.ClientURL())
			sub, err := plain.SubscribeSync("plexo." + int64Topic.Name())
			if err != nil {
				t.Fatal(err)
			}
			if err := plain.Flush(); err != nil {
				t.Fatal(err)
			}
			p := newPlexus(t)
			attach(t, p, connect(t, s.ClientURL()), tc.opts...)
			publishInt64(t, p, 42, 43)
			for i, want := range []int64{42, 43} {
				m, err := sub.NextMsg(5 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				var got wrapperspb.Int64Value
				if err := proto.Unmarshal(m.Data, &got); err != nil {
					t.Fatalf("plain client cannot decode the payload: %v", err)
				}
				if got.Value != want {
					t.Errorf("message %d = %d, want %d", i, got.Value, want)
				}
				if id, want := m.Header.Get(plexonats.HeaderID), strconv.FormatUint(p.ID(), 16)+":"+strconv.Itoa(i+1); id != want {
					t.Errorf("%s header %q, want %q", plexonats.HeaderID, id, want)
				}
				if len(m.Header) != 1 {
					t.Errorf("headers %v, want only %s", m.Header, plexonats.HeaderID)
				}
			}
		})
	}
}

func TestPlainPublisherReachesTypedSubscriber(t *testing.T) {
	s := startServer(t, -1)
	sub, observer := newPlexus(t), newPlexus(t)
	trSub := attach(t, sub, connect(t, s.ClientURL()))
	attach(t, observer, connect(t, s.ClientURL()))
	c, _ := subscribeInt64(t, sub)
	// The observer hears of the subscription after the server has it.
	waitForInterest(t, observer, int64Topic.Name())

	plain := connect(t, s.ClientURL())
	for _, v := range []int64{7, 8, 9} {
		data, err := proto.Marshal(wrapperspb.Int64(v))
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.Publish("plexo."+int64Topic.Name(), data); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.WaitFor(t, 3); !slices.Equal(got, []int64{7, 8, 9}) {
		t.Fatalf("typed subscriber received %v, want [7 8 9] in order", got)
	}
	if st := trSub.Stats(); st.Plain != 3 {
		t.Errorf("Plain = %d, want 3", st.Plain)
	}
}

func TestMalformedHeadersAreDropped(t *testing.T) {
	s := startServer(t, -1)
	sub, observer := newPlexus(t), newPlexus(t)
	tr := attach(t, sub, connect(t, s.ClientURL()))
	attach(t, observer, connect(t, s.ClientURL()))
	c, _ := subscribeInt64(t, sub)
	waitForInterest(t, observer, int64Topic.Name())

	plain := connect(t, s.ClientURL())
	data, _ := proto.Marshal(wrapperspb.Int64(1))
	for _, h := range []nats.Header{
		{plexonats.HeaderID: {"zz:1"}},
		{plexonats.HeaderID: {"abc"}},
		{plexonats.HeaderID: {"abc:-1"}},
	} {
		if err := plain.PublishMsg(&nats.Msg{Subject: "plexo." + int64Topic.Name(), Header: h, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	good := &nats.Msg{Subject: "plexo." + int64Topic.Name(), Header: nats.Header{
		plexonats.HeaderID: {"abc:1"},
	}, Data: data}
	if err := plain.PublishMsg(good); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(t, 1)
	if st := tr.Stats(); st.Malformed != 3 || st.Received != 1 {
		t.Errorf("stats %+v, want 3 malformed and 1 received", st)
	}
}

func TestThreeServerCluster(t *testing.T) {
	servers := startCluster(t, 3)
	pub, sub := newPlexus(t), newPlexus(t)
	attach(t, pub, connect(t, servers[0].ClientURL()))
	attach(t, sub, connect(t, servers[2].ClientURL()))
	c, _ := subscribeInt64(t, sub)
	waitForInterest(t, pub, int64Topic.Name())
	want := seq(0, 200)
	publishInt64(t, pub, want...)
	if got := c.WaitFor(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("received %d messages out of order or altered across the cluster", len(got))
	}
}

// sentCounter reports how many messages a transport sent.
type sentCounter func() uint64

// joinPipe connects left to the bridge with a pipe.
func joinPipe(t *testing.T, left, bridge *plexo.Plexus) sentCounter {
	toLeft, fromBridge := pipe.New()
	if err := bridge.Attach(toLeft); err != nil {
		t.Fatal(err)
	}
	if err := left.Attach(fromBridge); err != nil {
		t.Fatal(err)
	}
	return func() uint64 { return toLeft.Stats().Sent }
}

// joinTCP makes left dial the bridge over TCP on loopback.
func joinTCP(t *testing.T, left, bridge *plexo.Plexus) sentCounter {
	l, err := tcp.Listen(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := bridge.Attach(l); err != nil {
		t.Fatal(errors.Join(err, l.Close()))
	}
	d, err := tcp.Dial(t.Context(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := left.Attach(d); err != nil {
		t.Fatal(errors.Join(err, d.Close()))
	}
	return func() uint64 { return l.Stats().Sent }
}

func TestBridgeDeliversExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		join func(*testing.T, *plexo.Plexus, *plexo.Plexus) sentCounter
	}{
		{"pipe", joinPipe},
		{"tcp", joinTCP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, -1)
			left, bridge, right := newPlexus(t), newPlexus(t), newPlexus(t)
			sentToLeft := tc.join(t, left, bridge)
			trBridge := attach(t, bridge, connect(t, s.ClientURL()))
			trRight := attach(t, right, connect(t, s.ClientURL()))

			atLeft, _ := subscribeInt64(t, left)
			atBridge, _ := subscribeInt64(t, bridge)
			atRight, _ := subscribeInt64(t, right)
			waitForInterest(t, left, int64Topic.Name())  // the bridge pulls from the left
			waitForInterest(t, right, int64Topic.Name()) // the bridge subscribed on NATS
			eventually(t, "right's interest reaches the bridge", func() bool { return trBridge.Stats().RemotePeers == 1 })

			fromLeft, fromRight := seq(0, 50), seq(1000, 50)
			publishInt64(t, left, fromLeft...)
			publishInt64(t, right, fromRight...)
			all := append(slices.Clone(fromLeft), fromRight...)
			slices.Sort(all)
			// NATS echoes what the bridge forwards back to it (with left's
			// origin) and right's publishes back to right: wait until those
			// copies were dropped, then check that nobody handled anything
			// twice.
			eventually(t, "the bridge drops the echoes of what it forwarded", func() bool {
				return bridge.Stats().Duplicates == uint64(len(fromLeft))
			})
			eventually(t, "right drops the echoes of its own messages", func() bool {
				return trRight.Stats().Echoes == uint64(len(fromRight))
			})
			for name, c := range map[string]*collector[int64]{"left": atLeft, "bridge": atBridge, "right": atRight} {
				got := c.WaitFor(t, len(all))
				if len(got) != len(all) {
					t.Errorf("%s handled %d messages, want exactly %d", name, len(got), len(all))
				}
				slices.Sort(got)
				if !slices.Equal(got, all) {
					t.Errorf("%s did not handle each message exactly once", name)
				}
			}
			if n := sentToLeft(); n != uint64(len(fromRight)) {
				t.Errorf("the bridge sent %d messages to the left, want %d (never back where they came from)", n, len(fromRight))
			}
		})
	}
}

func TestServerRestartRestoresSubscriptions(t *testing.T) {
	s := startServer(t, -1)
	port := s.Addr().(*net.TCPAddr).Port
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond)}
	pub, sub := newPlexus(t), newPlexus(t)
	ncPub := connect(t, s.ClientURL(), opts...)
	ncSub := connect(t, s.ClientURL(), opts...)
	attach(t, pub, ncPub)
	trSub := attach(t, sub, ncSub)
	c, _ := subscribeInt64(t, sub)
	waitForInterest(t, pub, int64Topic.Name())
	publishInt64(t, pub, 1)
	c.WaitFor(t, 1)

	s.Shutdown()
	s.WaitForShutdown()
	eventually(t, "both connections notice", func() bool { return !ncPub.IsConnected() && !ncSub.IsConnected() })
	startServer(t, port)
	eventually(t, "both connections reconnect", func() bool { return ncPub.IsConnected() && ncSub.IsConnected() })

	// Delivery is at most once: publish until a message crosses again.
	next := int64(100)
	eventually(t, "a message crosses the restarted server", func() bool {
		publishInt64(t, pub, next)
		next++
		time.Sleep(5 * time.Millisecond)
		return slices.ContainsFunc(c.Snapshot(), func(v int64) bool { return v >= 100 })
	})
	if st := trSub.Stats(); st.Subscriptions != 1 {
		t.Errorf("Subscriptions = %d after the restart, want 1", st.Subscriptions)
	}
}

func TestSlowConsumerIsCounted(t *testing.T) {
	s := startServer(t, -1)
	pub, sub := newPlexus(t), newPlexus(t)
	attach(t, pub, connect(t, s.ClientURL()))
	// The connection's own error handler hears of the slow consumer too;
	// keep it quiet.
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	tr := attach(t, sub, connect(t, s.ClientURL(), quiet), plexonats.WithPendingLimits(4, 0))
	release := make(chan struct{})
	var released bool
	defer func() {
		if !released {
			close(release)
		}
	}()
	if _, err := int64Topic.Subscribe(t.Context(), sub, func(ctx context.Context, _ *wrapperspb.Int64Value) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}, plexo.WithQueueSize(1), plexo.WithOverflow(plexo.OverflowBlock)); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, pub, int64Topic.Name())
	publishInt64(t, pub, seq(0, 100)...)
	eventually(t, "NATS drops for the slow consumer", func() bool { return tr.Stats().Dropped > 0 })
	close(release)
	released = true
}

func TestResubscribeAfterClose(t *testing.T) {
	s := startServer(t, -1)
	pub, sub := newPlexus(t), newPlexus(t)
	attach(t, pub, connect(t, s.ClientURL()))
	tr := attach(t, sub, connect(t, s.ClientURL()))
	for round := range 3 {
		c, subscription := subscribeInt64(t, sub)
		waitForInterest(t, pub, int64Topic.Name())
		publishInt64(t, pub, int64(round))
		if got := c.WaitFor(t, 1); got[0] != int64(round) {
			t.Fatalf("round %d received %v", round, got)
		}
		if err := subscription.Close(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the NATS subscription ends", func() bool { return tr.Stats().Subscriptions == 0 })
		eventually(t, "the publisher learns it", func() bool {
			return pub.Stats().Topics[int64Topic.Name()].InterestedTransports == 0
		})
	}
}

func TestQueueGroupSharesMessages(t *testing.T) {
	s := startServer(t, -1)
	pub := newPlexus(t)
	trPub := attach(t, pub, connect(t, s.ClientURL()))
	var collectors []*collector[int64]
	for range 2 {
		p := newPlexus(t)
		attach(t, p, connect(t, s.ClientURL()), plexonats.WithQueueGroup("workers"))
		c, _ := subscribeInt64(t, p)
		collectors = append(collectors, c)
	}
	eventually(t, "both members' interest arrives", func() bool { return trPub.Stats().RemotePeers == 2 })
	want := seq(0, 100)
	publishInt64(t, pub, want...)
	eventually(t, "every message is handled", func() bool { return collectors[0].Len()+collectors[1].Len() == len(want) })
	got := append(collectors[0].Snapshot(), collectors[1].Snapshot()...)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("the group handled %v, want each of 0..99 once", got)
	}
}

func TestCrashedPeerInterestExpires(t *testing.T) {
	s := startServer(t, -1)
	pub, sub := newPlexus(t), newPlexus(t)
	refresh := plexonats.WithInterestRefresh(20 * time.Millisecond)
	attach(t, pub, connect(t, s.ClientURL()), refresh)
	ncSub := connect(t, s.ClientURL())
	attach(t, sub, ncSub, refresh)
	subscribeInt64(t, sub)
	waitForInterest(t, pub, int64Topic.Name())
	ncSub.Close() // the subscriber vanishes without saying goodbye
	eventually(t, "the publisher forgets the vanished subscriber's interest", func() bool {
		return pub.Stats().Topics[int64Topic.Name()].InterestedTransports == 0
	})
}

func TestRemoteInterestDeclaresPlainConsumers(t *testing.T) {
	s := startServer(t, -1)
	plain := connect(t, s.ClientURL())
	sub, err := plain.SubscribeSync("plexo." + int64Topic.Name())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Flush(); err != nil {
		t.Fatal(err)
	}
	// left publishes over a pipe to a bridge that knows a plain NATS
	// consumer wants the topic.
	left, bridge := newPlexus(t), newPlexus(t)
	a, b := pipe.New()
	if err := left.Attach(a); err != nil {
		t.Fatal(err)
	}
	if err := bridge.Attach(b); err != nil {
		t.Fatal(err)
	}
	attach(t, bridge, connect(t, s.ClientURL()), plexonats.WithRemoteInterest(int64Topic.Name()))
	waitForInterest(t, left, int64Topic.Name())
	publishInt64(t, left, 5)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got wrapperspb.Int64Value
	if err := proto.Unmarshal(m.Data, &got); err != nil || got.Value != 5 {
		t.Fatalf("plain consumer received %v (%v), want 5", &got, err)
	}
}

func TestCloseKeepsConnectionAndUnsubscribes(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL())
	p := plexo.New(plexo.WithLogger(discardLogger()), plexo.WithDescriptorSharing(false))
	tr := attach(t, p, nc)
	subscribeInt64(t, p)
	eventually(t, "the transport subscribes", func() bool { return tr.Stats().Subscriptions == 1 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !nc.IsConnected() {
		t.Error("closing the transport closed the user's connection")
	}
	if n := nc.NumSubscriptions(); n != 0 {
		t.Errorf("%d NATS subscriptions left after Close", n)
	}
	err := tr.Send(t.Context(), &plexo.Message{Topic: int64Topic.Name(), Payload: []byte{8, 1}})
	if !errors.Is(err, plexo.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

func TestNewValidates(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL())
	closed := connect(t, s.ClientURL())
	closed.Close()
	for _, tc := range []struct {
		name string
		nc   *nats.Conn
		opts []plexonats.Option
		want error
	}{
		{"nil connection", nil, nil, plexonats.ErrNilConn},
		{"closed connection", closed, nil, plexo.ErrClosed},
		{"prefix with a space", nc, []plexonats.Option{plexonats.WithSubjectPrefix("my app.")}, plexonats.ErrInvalidSubject},
		{"prefix with a wildcard", nc, []plexonats.Option{plexonats.WithSubjectPrefix("plexo.*.")}, plexonats.ErrInvalidSubject},
		{"prefix with a full wildcard", nc, []plexonats.Option{plexonats.WithSubjectPrefix("plexo.>")}, plexonats.ErrInvalidSubject},
		{"prefix with an empty token", nc, []plexonats.Option{plexonats.WithSubjectPrefix("a..b.")}, plexonats.ErrInvalidSubject},
		{"prefix starting with a dot", nc, []plexonats.Option{plexonats.WithSubjectPrefix(".a.")}, plexonats.ErrInvalidSubject},
		{"queue group with a space", nc, []plexonats.Option{plexonats.WithQueueGroup("my workers")}, plexonats.ErrInvalidQueueGroup},
		{"remote interest in a bad topic", nc, []plexonats.Option{plexonats.WithRemoteInterest("bad topic.proto")}, plexonats.ErrInvalidSubject},
		{"valid prefix without a dot", nc, []plexonats.Option{plexonats.WithSubjectPrefix("app_")}, nil},
		{"valid options", nc, []plexonats.Option{plexonats.WithSubjectPrefix("site1.plexo."), plexonats.WithQueueGroup("workers")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := plexonats.New(tc.nc, tc.opts...)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("New = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Count(err.Error(), "plexonats: ") != 1 {
				t.Errorf("New = %q: want the prefix once", err)
			}
			if tr != nil {
				if err := tr.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestInvalidTopicNames(t *testing.T) {
	s := startServer(t, -1)
	p := newPlexus(t)
	tr := attach(t, p, connect(t, s.ClientURL()))
	for _, name := range []string{"bad topic.proto", "test.*.proto", "test.>", "test..X.proto", "test.X.proto."} {
		t.Run(name, func(t *testing.T) {
			err := tr.Send(t.Context(), &plexo.Message{Topic: name, Payload: []byte{1}})
			if !errors.Is(err, plexonats.ErrInvalidSubject) {
				t.Fatalf("Send = %v, want ErrInvalidSubject", err)
			}
		})
	}
	before := tr.Stats().InvalidTopics
	bad := plexo.NewTopic[*wrapperspb.Int64Value]("bad topic.proto")
	if _, err := bad.Subscribe(t.Context(), p, func(context.Context, *wrapperspb.Int64Value) {}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bad subscription is counted", func() bool { return tr.Stats().InvalidTopics == before+1 })
	if n := tr.Stats().Subscriptions; n != 0 {
		t.Errorf("%d NATS subscriptions for an invalid topic", n)
	}
}

func TestSendRefusesOversizedMessages(t *testing.T) {
	s := startServer(t, -1, func(o *server.Options) { o.MaxPayload = 1024 })
	p := newPlexus(t)
	tr := attach(t, p, connect(t, s.ClientURL()))
	err := tr.Send(t.Context(), &plexo.Message{Topic: int64Topic.Name(), Payload: make([]byte, 2048), Origin: 1, Sequence: 1})
	if !errors.Is(err, plexo.ErrMessageTooLarge) || !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("Send = %v, want ErrMessageTooLarge wrapping nats.ErrMaxPayload", err)
	}
	if st := tr.Stats(); st.SendErrors != 1 {
		t.Errorf("SendErrors = %d, want 1", st.SendErrors)
	}
}

// The Plexo-Id header is rewritten in place for each message: every
// message must still arrive with its own, also when sends overlap.
func TestSendHeadersArriveEachWithItsOwnSequence(t *testing.T) {
	s := startServer(t, -1)
	p := newPlexus(t)
	tr := attach(t, p, connect(t, s.ClientURL()))
	watcher := connect(t, s.ClientURL())
	got := make(chan string, 1000)
	if _, err := watcher.Subscribe("plexo."+int64Topic.Name(), func(m *nats.Msg) { got <- m.Header.Get(plexonats.HeaderID) }); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	const senders, each = 4, 100
	var wg sync.WaitGroup
	for g := range uint64(senders) {
		wg.Go(func() {
			for i := range uint64(each) {
				msg := &plexo.Message{Topic: int64Topic.Name(), Payload: []byte{1}, Origin: 0xabc0 + g, Sequence: 1<<40 + i}
				if err := tr.Send(t.Context(), msg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	for range senders * each {
		select {
		case id := <-got:
			seen[id] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d messages", len(seen), senders*each)
		}
	}
	for g := range uint64(senders) {
		for i := range uint64(each) {
			if id := fmt.Sprintf("%x:%d", 0xabc0+g, 1<<40+i); !seen[id] {
				t.Fatalf("no message with Plexo-Id %s among %d distinct ones", id, len(seen))
			}
		}
	}
}

func TestSendAllocatesOnlyForNATSHeaders(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	s := startServer(t, -1)
	p := newPlexus(t)
	tr := attach(t, p, connect(t, s.ClientURL()))
	msg := &plexo.Message{Topic: int64Topic.Name(), Payload: make([]byte, 128), Origin: p.ID(), Sequence: 1 << 40}
	allocs := testing.AllocsPerRun(1000, func() {
		msg.Sequence++
		if err := tr.Send(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	})
	// nats.go encodes headers into a fresh buffer on every PublishMsg (2
	// allocations); the Plexo-Id header is rewritten in place.
	if allocs > 2 {
		t.Errorf("Send allocates %.1f times per message, want at most 2", allocs)
	}
	t.Logf("Send allocates %.1f times per message", allocs)
}

func TestConnectionClosedByItsOwnerFirst(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL())
	p := plexo.New(plexo.WithLogger(discardLogger()), plexo.WithDescriptorSharing(false))
	tr := attach(t, p, nc)
	subscribeInt64(t, p)
	eventually(t, "the transport subscribes", func() bool { return tr.Stats().Subscriptions == 1 })
	nc.Close()
	publishInt64(t, p, 1) // counted by the Plexus as a transport error, not returned
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.TransportErrors != 1 {
		t.Errorf("TransportErrors = %d, want 1", st.TransportErrors)
	}
}

func TestAdvertiseAndCloseDoNotWaitForTheServer(t *testing.T) {
	s := startServer(t, -1)
	nc := connect(t, s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(time.Hour))
	p := plexo.New(plexo.WithLogger(discardLogger()), plexo.WithDescriptorSharing(false))
	tr := attach(t, p, nc)
	s.Shutdown()
	s.WaitForShutdown()
	eventually(t, "the connection notices", func() bool { return !nc.IsConnected() })
	// nats.go buffers subscriptions and publishes while it reconnects.
	subscribeInt64(t, p)
	eventually(t, "the transport subscribes", func() bool { return tr.Stats().Subscriptions == 1 })
	publishInt64(t, p, 1)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if !nc.IsReconnecting() {
		t.Errorf("connection status %v after Close, want it still reconnecting", nc.Status())
	}
}

// TestInterestDiesOutAcrossNATSAndPipe joins two Plexus values twice, by
// NATS and by a pipe, a cycle of bridges in which interest used to keep
// itself alive after its last subscriber had gone.
func TestInterestDiesOutAcrossNATSAndPipe(t *testing.T) {
	s := startServer(t, -1)
	a, b := newPlexus(t), newPlexus(t)
	refresh := plexonats.WithInterestRefresh(50 * time.Millisecond)
	ta := attach(t, a, connect(t, s.ClientURL()), refresh)
	tb := attach(t, b, connect(t, s.ClientURL()), refresh)
	joinPipe(t, a, b)
	_, sub := subscribeInt64(t, a)
	waitForInterest(t, b, int64Topic.Name())
	eventually(t, "a hears b's interest back, as a cycle does", func() bool {
		return a.Stats().Topics[int64Topic.Name()].InterestedTransports == 2
	})
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*plexo.Plexus{"a": a, "b": b} {
		within(t, 5*time.Second, "interest dies out at "+name, func() bool {
			return p.Stats().Topics[int64Topic.Name()].InterestedTransports == 0
		})
	}
	for name, tr := range map[string]*plexonats.Transport{"a": ta, "b": tb} {
		within(t, 5*time.Second, name+" unsubscribes from NATS and forgets its peer", func() bool {
			st := tr.Stats()
			return st.Subscriptions == 0 && st.RemotePeers == 0
		})
	}
}

// TestDistanceCrossesTheExchange checks that a Plexus on NATS learns how
// many bridges away a subscriber is, not just that there is one.
func TestDistanceCrossesTheExchange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pipes int // between the subscriber and the Plexus on NATS
	}{
		{"subscriber on NATS", 0},
		{"one bridge away", 1},
		{"two bridges away", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, -1)
			chain := []*plexo.Plexus{newPlexus(t)}
			for range tc.pipes {
				next := newPlexus(t)
				joinPipe(t, chain[len(chain)-1], next)
				chain = append(chain, next)
			}
			attach(t, chain[len(chain)-1], connect(t, s.ClientURL()))
			// The observer is a plexonats transport whose host records what
			// it reports.
			obs, err := plexonats.New(connect(t, s.ClientURL()))
			if err != nil {
				t.Fatal(err)
			}
			h := newInterestHost()
			if err := obs.Start(h); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := obs.Close(); err != nil {
					t.Error(err)
				}
			}()
			_, sub := subscribeInt64(t, chain[0])
			want := tc.pipes + 1
			eventually(t, fmt.Sprintf("the observer hears the subscriber %d hops away", want), func() bool {
				return h.hops(int64Topic.Name()) == want
			})
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the observer hears the subscriber is gone", func() bool {
				return h.hops(int64Topic.Name()) == 0
			})
			if got := h.history(int64Topic.Name()); !slices.Equal(got, []int{want, 0}) {
				t.Errorf("observer heard distances %v, want [%d 0]", got, want)
			}
		})
	}
}
