package plexo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo"
	basicv1 "github.com/plexo-go/plexo/internal/goldenpb/plexotest/basic/v1"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// fastDirectory makes announcements repeat, and so expire, quickly.
var fastDirectory = plexo.WithDirectoryRefresh(100 * time.Millisecond)

// line connects a - b - c with pipes, b bridging.
func line(t *testing.T, a, b, c *plexo.Plexus) {
	t.Helper()
	connect(t, a, b)
	connect(t, b, c)
}

// waitForTopic waits until d lists topic with the given publisher and
// subscriber counts, and returns its entry.
func waitForTopic(t *testing.T, d *plexo.Directory, topic string, publishers, subscribers int) plexo.TopicInfo {
	t.Helper()
	var ti plexo.TopicInfo
	plexotest.Eventually(t, "the directory lists "+topic, func() bool {
		var ok bool
		ti, ok = d.Lookup(topic)
		return ok && len(ti.Publishers) == publishers && len(ti.Subscribers) == subscribers
	})
	return ti
}

func TestDirectoryListsTheWholeSystemAcrossABridge(t *testing.T) {
	ctx := t.Context()
	tool, bridge, sensor := newPlexus(t), newPlexus(t), newPlexus(t)
	line(t, tool, bridge, sensor)
	if _, err := basicv1.SubscribeReading(ctx, bridge, func(context.Context, *basicv1.Reading) {}); err != nil {
		t.Fatal(err)
	}
	if err := basicv1.PublishReading(ctx, sensor, &basicv1.Reading{Id: "r1"}); err != nil {
		t.Fatal(err)
	}

	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ti := waitForTopic(t, d, basicv1.ReadingTopicName, 1, 1)
	want := plexo.TopicInfo{
		Topic:       basicv1.ReadingTopicName,
		Message:     "plexotest.basic.v1.Reading",
		Codec:       "proto",
		Publishers:  []uint64{sensor.ID()},
		Subscribers: []uint64{bridge.ID()},
	}
	if ti.Topic != want.Topic || ti.Message != want.Message || ti.Codec != want.Codec ||
		!slices.Equal(ti.Publishers, want.Publishers) || !slices.Equal(ti.Subscribers, want.Subscribers) {
		t.Fatalf("directory entry %+v, want %+v", ti, want)
	}
	for _, ti := range d.Topics() {
		if plexo.ReservedTopic(ti.Topic) {
			t.Fatalf("the directory lists plexo's reserved topic %s", ti.Topic)
		}
	}
}

func TestDescriptorsDecodeWithoutTheGoTypes(t *testing.T) {
	ctx := t.Context()
	tool, bridge, sensor := newPlexus(t), newPlexus(t), newPlexus(t)
	line(t, tool, bridge, sensor)
	sent := &basicv1.Reading{
		Id: "fermenter", Value: 19.5, Unit: basicv1.Reading_UNIT_CELSIUS,
		At: timestamppb.New(time.Unix(1700000000, 0)), Window: durationpb.New(time.Minute),
		Labels: map[string]string{"room": "cellar"},
		Notes:  map[int32]*basicv1.Reading_Note{1: {Text: "dry hop"}},
	}
	if err := basicv1.PublishReading(ctx, sensor, sent); err != nil {
		t.Fatal(err)
	}

	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitCtx, cancel := context.WithTimeout(ctx, plexotest.Timeout)
	defer cancel()
	md, err := d.Descriptor(waitCtx, "plexotest.basic.v1.Reading")
	if err != nil {
		t.Fatal(err)
	}
	set, err := d.FileDescriptorSet(waitCtx, "plexotest.basic.v1.Reading")
	if err != nil {
		t.Fatal(err)
	}
	// The set stands on its own: it builds without the global registry.
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("the shared FileDescriptorSet is not self-contained: %v", err)
	}
	if _, err := files.FindFileByPath("google/protobuf/timestamp.proto"); err != nil {
		t.Fatalf("the shared set lacks a well-known import: %v", err)
	}
	// A message decoded with the shared descriptor is the one sent.
	wire, _ := proto.Marshal(sent)
	dyn := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(wire, dyn); err != nil {
		t.Fatal(err)
	}
	again, _ := proto.MarshalOptions{Deterministic: true}.Marshal(dyn)
	var back basicv1.Reading
	if err := proto.Unmarshal(again, &back); err != nil || !proto.Equal(&back, sent) {
		t.Fatalf("decoded with the shared descriptor: %v (%v), want %v", &back, err, sent)
	}
}

func TestDirectoryForgetsDepartedProcesses(t *testing.T) {
	ctx := t.Context()
	tool := newPlexus(t, fastDirectory)
	polite, vanished := newPlexus(t, fastDirectory), newPlexus(t, fastDirectory)
	connect(t, tool, polite)
	_, toVanished := connect(t, tool, vanished)
	if err := basicv1.PublishReading(ctx, polite, &basicv1.Reading{}); err != nil {
		t.Fatal(err)
	}
	if err := basicv1.PublishEvent(ctx, vanished, &basicv1.Event{}); err != nil {
		t.Fatal(err)
	}
	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitForTopic(t, d, basicv1.ReadingTopicName, 1, 0)
	waitForTopic(t, d, basicv1.EventTopicName, 1, 0)

	// A Plexus that closes withdraws its entries at once.
	changed := d.Changed()
	if err := polite.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(plexotest.Timeout):
		t.Fatal("no change after a Plexus closed")
	}
	plexotest.Eventually(t, "the closed Plexus's topic is gone", func() bool {
		_, ok := d.Lookup(basicv1.ReadingTopicName)
		return !ok
	})

	// One that vanishes without a word expires after three refreshes.
	_ = toVanished.Close()
	plexotest.Eventually(t, "the vanished Plexus's topic expires", func() bool {
		_, ok := d.Lookup(basicv1.EventTopicName)
		return !ok
	})
}

func TestDescriptorSharingOff(t *testing.T) {
	ctx := t.Context()
	tool, bridge := newPlexus(t), newPlexus(t, plexo.WithDescriptorSharing(false))
	open := newPlexus(t)
	line(t, tool, bridge, open)
	if err := basicv1.PublishReading(ctx, bridge, &basicv1.Reading{}); err != nil {
		t.Fatal(err)
	}
	if err := basicv1.PublishEvent(ctx, open, &basicv1.Event{}); err != nil {
		t.Fatal(err)
	}
	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The private bridge still forwards the open Plexus's announcement...
	ti := waitForTopic(t, d, basicv1.EventTopicName, 1, 0)
	if ti.Codec != "json" || ti.Message != "plexotest.basic.v1.Event" {
		t.Fatalf("entry %+v", ti)
	}
	// ...and never announces its own topics or shares their descriptors.
	shortCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := d.Descriptor(shortCtx, "plexotest.basic.v1.Reading"); err == nil {
		t.Fatal("a Plexus with sharing off shared a descriptor")
	}
	if _, ok := d.Lookup(basicv1.ReadingTopicName); ok {
		t.Fatal("a Plexus with sharing off announced its topic")
	}
}

func TestSubscribeNamespaceFollowsTopicsAsTheyComeAndGo(t *testing.T) {
	ctx := t.Context()
	tool := newPlexus(t, fastDirectory)
	sensor := newPlexus(t, fastDirectory)
	connect(t, tool, sensor)
	got := new(plexotest.Collector[string])
	ns, err := tool.SubscribeNamespace(ctx, "plexotest.basic.", func(_ context.Context, m *plexo.RawMessage) {
		got.Add(m.Topic)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	// Outside the namespace: never followed.
	if err := int64Topic.Publish(ctx, sensor, nil); err == nil {
		t.Fatal("published a nil message")
	}
	publish(t, sensor, 1)

	// A topic that appears after the subscription is followed.
	if err := basicv1.PublishReading(ctx, sensor, &basicv1.Reading{Id: "first"}); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, sensor, basicv1.ReadingTopicName)
	if err := basicv1.PublishReading(ctx, sensor, &basicv1.Reading{Id: "second"}); err != nil {
		t.Fatal(err)
	}
	if g := got.WaitFor(t, 1); g[0] != basicv1.ReadingTopicName {
		t.Fatalf("namespace subscription got %v", g)
	}
	if topics := ns.Topics(); !slices.Equal(topics, []string{basicv1.ReadingTopicName}) {
		t.Fatalf("Topics() = %v", topics)
	}

	// When its last publisher goes, the topic is let go.
	if err := sensor.Close(); err != nil {
		t.Fatal(err)
	}
	plexotest.Eventually(t, "the departed topic is let go", func() bool { return len(ns.Topics()) == 0 })
}

func TestForgedDirectoryMessagesAreDroppedAndCounted(t *testing.T) {
	ctx := t.Context()
	tool, forger := newPlexus(t), newPlexus(t)
	connect(t, tool, forger)
	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, topic := range []string{"plexo.v1.Directory.proto", "plexo.v1.DescriptorSet.proto"} {
		waitForInterest(t, forger, topic)
	}
	forged := [][2]string{
		{"plexo.v1.Directory.proto", "\xff\xff\xff"},                        // not protobuf
		{"plexo.v1.Directory.proto", "\x0a\x05\x0a\x03a b"},                 // entry with an invalid topic name
		{"plexo.v1.DescriptorSet.proto", "\x0a\x03a.B\x12\x03\xff\xff\xff"}, // a set that does not parse
		{"plexo.v1.DescriptorSet.proto", "\x0a\x03a.B"},                     // an empty set: a.B is not in it
		{"plexo.v1.DirectoryQuery.proto", "\xff"},
	}
	for _, f := range forged {
		if err := forger.PublishRaw(ctx, f[0], []byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	plexotest.Eventually(t, "every forged message is counted", func() bool {
		return tool.Stats().DirectoryRejected == uint64(len(forged))
	})
	if got := len(d.Topics()); got != 0 {
		t.Fatalf("forged announcements left %d topics", got)
	}
}

func TestAFloodOfQueriesDrawsFewAnnouncements(t *testing.T) {
	ctx := t.Context()
	tool, sensor := newPlexus(t), newPlexus(t)
	// The sensor's announcer starts with its first transport: every
	// announcement it makes comes after begin, so the bound below holds
	// however long the machine stalls anywhere in the test.
	begin := time.Now()
	connect(t, tool, sensor)
	if err := basicv1.PublishReading(ctx, sensor, &basicv1.Reading{}); err != nil {
		t.Fatal(err)
	}
	announcements := new(plexotest.Collector[uint64])
	if _, err := tool.SubscribeRaw(ctx, "plexo.v1.Directory.proto", func(_ context.Context, m *plexo.RawMessage) {
		if m.Origin == sensor.ID() {
			announcements.Add(m.Origin)
		}
	}); err != nil {
		t.Fatal(err)
	}
	waitForInterest(t, sensor, "plexo.v1.Directory.proto")
	announcements.WaitFor(t, 1) // the one that interest appearing draws
	// The queries come over more than 600 ms, so that answering each
	// (after its short random delay) would draw many more announcements.
	for range 200 {
		if err := tool.PublishRaw(ctx, "plexo.v1.DirectoryQuery.proto", nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	// Read the count before the clock: an announcement counted was made
	// before elapsed ends.
	got := announcements.Len()
	elapsed := time.Since(begin)
	// One announcement per 250 ms at most, the first included, plus the
	// refreshes, which are not spaced (one per 10 s, none unless the
	// machine stalls that long).
	if most := int(elapsed/(250*time.Millisecond)) + 1 + int(elapsed/plexo.DefaultDirectoryRefresh); got > most {
		t.Fatalf("200 queries drew %d announcements in %v since the sensor's first transport, want at most %d", got, elapsed, most)
	}
}

func TestALargeDirectoryTravelsInParts(t *testing.T) {
	ctx := t.Context()
	tool, sensor := newPlexus(t), newPlexus(t)
	connect(t, tool, sensor)
	// 400 topics of about 300 bytes each: more than two parts of 48 KiB.
	const n = 400
	long := strings.Repeat("x", 280)
	nop := func(context.Context, *plexo.RawMessage) {}
	for i := range n {
		if _, err := sensor.SubscribeRaw(ctx, fmt.Sprintf("big.v1.%s%03d.proto", long, i), nop); err != nil {
			t.Fatal(err)
		}
	}
	parts := new(plexotest.Collector[int])
	if _, err := tool.SubscribeRaw(ctx, "plexo.v1.Directory.proto", func(_ context.Context, m *plexo.RawMessage) {
		parts.Add(len(m.Payload))
	}); err != nil {
		t.Fatal(err)
	}
	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	plexotest.Eventually(t, "the directory lists every topic", func() bool { return len(d.Topics()) == n })
	// The raw subscription has its own handler goroutine: it may see the
	// parts after the directory has gathered them.
	plexotest.Eventually(t, "the raw subscription sees the parts", func() bool { return parts.Len() >= 3 })
	for _, size := range parts.Snapshot() {
		if size > 56<<10 {
			t.Fatalf("an announcement message of %d bytes, want parts of at most about 48 KiB", size)
		}
	}
}

func TestWaitingToPublishListsThePublisherBeforeTheFirstMessage(t *testing.T) {
	ctx := t.Context()
	tool, sensor := newPlexus(t), newPlexus(t)
	connect(t, tool, sensor)
	waited := make(chan error, 1)
	go func() { waited <- basicv1.ReadingTopic.WaitForInterest(ctx, sensor) }()

	d, err := tool.WatchDirectory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ti := waitForTopic(t, d, basicv1.ReadingTopicName, 1, 0)
	if ti.Message != "plexotest.basic.v1.Reading" || !slices.Equal(ti.Publishers, []uint64{sensor.ID()}) {
		t.Fatalf("directory entry %+v, want the sensor publishing plexotest.basic.v1.Reading", ti)
	}
	waitCtx, cancel := context.WithTimeout(ctx, plexotest.Timeout)
	defer cancel()
	if _, err := d.Descriptor(waitCtx, ti.Message); err != nil {
		t.Fatalf("the descriptor of a topic about to be published: %v", err)
	}
	select {
	case err := <-waited:
		t.Fatalf("WaitForInterest returned %v with nobody subscribed", err)
	default:
	}
	// A subscriber without the Go type is interest like any other.
	if _, err := tool.SubscribeRaw(ctx, basicv1.ReadingTopicName, func(context.Context, *plexo.RawMessage) {}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(plexotest.Timeout):
		t.Fatal("WaitForInterest did not return once the tool subscribed")
	}
}

func TestTopicWaitForInterestFailures(t *testing.T) {
	ctx := t.Context()
	p := newPlexus(t)
	if err := (plexo.Topic[*basicv1.Reading]{}).WaitForInterest(ctx, p); !errors.Is(err, plexo.ErrInvalidTopic) {
		t.Errorf("zero Topic: %v, want ErrInvalidTopic", err)
	}
	if _, err := basicv1.SubscribeEvent(ctx, p, func(context.Context, *basicv1.Event) {}); err != nil {
		t.Fatal(err)
	}
	other := plexo.NewTopic[*basicv1.Reading](basicv1.EventTopicName)
	if err := other.WaitForInterest(ctx, p); !errors.Is(err, plexo.ErrTopicType) {
		t.Errorf("a name bound to another type: %v, want ErrTopicType", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := basicv1.ReadingTopic.WaitForInterest(short, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("nobody interested before the deadline: %v, want DeadlineExceeded", err)
	}
	closed := plexo.New()
	_ = closed.Close()
	if err := basicv1.ReadingTopic.WaitForInterest(ctx, closed); !errors.Is(err, plexo.ErrClosed) {
		t.Errorf("closed Plexus: %v, want ErrClosed", err)
	}
}
