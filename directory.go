package plexo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	plexov1 "github.com/plexo-go/plexo/schema/plexo/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TopicInfo is what a [Directory] knows of one topic.
type TopicInfo struct {
	// Topic is the topic name, such as "brewery.sensors.v1.Temperature.proto".
	Topic string
	// Message is the full name of the topic's message type, such as
	// "brewery.sensors.v1.Temperature"; empty when no Plexus that announced
	// the topic knows its type.
	Message protoreflect.FullName
	// Codec is the name of the codec of the topic's messages, such as "proto".
	Codec string
	// Publishers and Subscribers are the IDs of the Plexus values that
	// publish or subscribe to the topic, sorted.
	Publishers  []uint64
	Subscribers []uint64
}

// A Directory follows which topics the processes of a running system
// publish and subscribe, with their message types: every Plexus reachable
// through p's transports, across bridges, and p itself. Every Plexus
// announces its topics, unless [WithDescriptorSharing] turned that off, and
// shares the FileDescriptorSet of its message types on request, so that a
// tool can decode any topic without its .proto files.
//
// A Directory is safe for concurrent use. Close it to stop following.
type Directory struct {
	p    *Plexus
	subs []*Subscription

	mu          sync.Mutex
	origins     map[uint64]*announced
	partial     map[uint64]*partialAnnouncement // announcements in parts, not all there yet
	descriptors map[protoreflect.FullName]*sharedDescriptor
	descBytes   int
	changed     chan struct{}
	closed      bool

	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// announced is the last announcement of one origin.
type announced struct {
	entries []*plexov1.DirectoryEntry
	expires time.Time
}

// sharedDescriptor is a message type's descriptor that a peer shared.
type sharedDescriptor struct {
	md  protoreflect.MessageDescriptor
	set *descriptorpb.FileDescriptorSet
}

// WatchDirectory starts following the directory of the system that p
// reaches. Entries arrive as the announcements do, usually within a few
// tens of milliseconds of the call on a local network; an announcement
// holds for three of its sender's refresh intervals ([WithDirectoryRefresh]),
// and a Plexus that closes withdraws its entries at once.
func (p *Plexus) WatchDirectory(ctx context.Context) (*Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("watch directory", "", err)
	}
	d := &Directory{
		p:           p,
		origins:     make(map[uint64]*announced),
		partial:     make(map[uint64]*partialAnnouncement),
		descriptors: make(map[protoreflect.FullName]*sharedDescriptor),
		changed:     make(chan struct{}),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	for _, t := range []struct {
		topic  string
		handle func(*RawMessage)
	}{{directoryTopic, d.takeAnnouncement}, {descriptorSetTopic, d.takeDescriptorSet}} {
		s, err := p.SubscribeRaw(ctx, t.topic, func(_ context.Context, m *RawMessage) { t.handle(m) })
		if err != nil {
			d.closeSubs()
			return nil, opError("watch directory", "", err)
		}
		d.subs = append(d.subs, s)
	}
	p.watchMu.Lock()
	p.watchers[d] = struct{}{}
	p.watchMu.Unlock()
	if p.closed.Load() {
		_ = d.Close()
		return nil, opError("watch directory", "", ErrClosed)
	}
	go d.run()
	return d, nil
}

// Topics returns every topic the directory knows now, p's own included and
// plexo's reserved topics left out, sorted by name.
func (d *Directory) Topics() []TopicInfo {
	local := d.p.localEntries()
	byTopic := make(map[string]*TopicInfo)
	add := func(origin uint64, topic, codec string, message protoreflect.FullName, publishes, subscribes bool) {
		ti := byTopic[topic]
		if ti == nil {
			ti = &TopicInfo{Topic: topic, Codec: codec}
			byTopic[topic] = ti
		}
		if ti.Message == "" {
			ti.Message = message
		}
		if publishes {
			ti.Publishers = append(ti.Publishers, origin)
		}
		if subscribes {
			ti.Subscribers = append(ti.Subscribers, origin)
		}
	}
	for _, e := range local {
		add(d.p.id, e.topic, e.codec, e.message, e.publishes, e.subscribes)
	}
	now := time.Now()
	d.mu.Lock()
	for origin, a := range d.origins {
		if now.After(a.expires) {
			continue
		}
		for _, e := range a.entries {
			add(origin, e.GetTopic(), e.GetCodec(), protoreflect.FullName(e.GetMessage()), e.GetPublishes(), e.GetSubscribes())
		}
	}
	d.mu.Unlock()
	topics := make([]TopicInfo, 0, len(byTopic))
	for _, ti := range byTopic {
		slices.Sort(ti.Publishers)
		slices.Sort(ti.Subscribers)
		topics = append(topics, *ti)
	}
	slices.SortFunc(topics, func(a, b TopicInfo) int { return strings.Compare(a.Topic, b.Topic) })
	return topics
}

// Lookup returns what the directory knows of one topic.
func (d *Directory) Lookup(topic string) (TopicInfo, bool) {
	for _, ti := range d.Topics() {
		if ti.Topic == topic {
			return ti, true
		}
	}
	return TopicInfo{}, false
}

// Changed returns a channel that is closed at the directory's next change:
// an announcement, an expiry, a change of p's own topics, a descriptor that
// arrives, or Close. Call it again after each change.
func (d *Directory) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// Descriptor returns the descriptor of the message type with the full name
// message. It comes from p's own topics or from what peers shared; if
// neither has it yet, Descriptor asks the system and waits within ctx.
func (d *Directory) Descriptor(ctx context.Context, message protoreflect.FullName) (protoreflect.MessageDescriptor, error) {
	md, _, err := d.descriptor(ctx, message)
	return md, err
}

// FileDescriptorSet returns the self-contained FileDescriptorSet of the
// message type with the full name message: the file that declares it and
// every file it imports. It waits like [Directory.Descriptor].
func (d *Directory) FileDescriptorSet(ctx context.Context, message protoreflect.FullName) (*descriptorpb.FileDescriptorSet, error) {
	_, set, err := d.descriptor(ctx, message)
	return set, err
}

func (d *Directory) descriptor(ctx context.Context, name protoreflect.FullName) (protoreflect.MessageDescriptor, *descriptorpb.FileDescriptorSet, error) {
	if !name.IsValid() {
		return nil, nil, opError("descriptor", string(name), fmt.Errorf("invalid message name"))
	}
	ask := time.Duration(0)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if md := d.p.localDescriptor(name); md != nil {
			return md, fileDescriptorSet(md), nil
		}
		d.mu.Lock()
		shared, closed, changed := d.descriptors[name], d.closed, d.changed
		d.mu.Unlock()
		switch {
		case shared != nil:
			return shared.md, proto.Clone(shared.set).(*descriptorpb.FileDescriptorSet), nil
		case closed:
			return nil, nil, opError("descriptor", string(name), ErrClosed)
		}
		select {
		case <-changed:
		case <-timer.C:
			// Ask again, less and less often: the first query may come
			// before this Plexus's interest in the answers reaches a peer.
			d.query([]string{string(name)})
			ask = min(max(2*ask, 100*time.Millisecond), 2*time.Second)
			timer.Reset(ask)
		case <-ctx.Done():
			return nil, nil, opError("descriptor", string(name), fmt.Errorf("no peer shared it: %w", ctx.Err()))
		}
	}
}

// Close stops following the directory. It is safe to call more than once.
func (d *Directory) Close() error {
	d.once.Do(func() {
		close(d.quit)
		<-d.done
		d.closeSubs()
		d.p.watchMu.Lock()
		delete(d.p.watchers, d)
		d.p.watchMu.Unlock()
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		d.touch()
	})
	return nil
}

func (d *Directory) closeSubs() {
	for _, s := range d.subs {
		_ = s.Close()
	}
}

// touch tells those waiting on Changed that something changed.
func (d *Directory) touch() {
	d.mu.Lock()
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// run queries the system a few times at the start, as the first query may
// come before interest in the answers has spread, and forgets expired
// announcements.
func (d *Directory) run() {
	defer close(d.done)
	queries := []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	next := time.NewTimer(queries[0])
	defer next.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-next.C:
			d.query(nil)
			if queries = queries[1:]; len(queries) > 0 {
				next.Reset(queries[0])
			}
		case now := <-sweep.C:
			d.expire(now)
		}
	}
}

// query asks every sharing Plexus to announce its directory, and those
// knowing the named message types to share their descriptors.
func (d *Directory) query(descriptors []string) {
	b, err := proto.Marshal(&plexov1.DirectoryQuery{Descriptors: descriptors})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.p.life, time.Second)
	defer cancel()
	d.p.publishReserved(ctx, directoryQueryTopic, b)
}

// expire forgets the announcements whose time is up.
func (d *Directory) expire(now time.Time) {
	d.mu.Lock()
	n := len(d.origins)
	for origin, a := range d.origins {
		if now.After(a.expires) {
			delete(d.origins, origin)
		}
	}
	for origin, pa := range d.partial {
		if now.Sub(pa.since) > partialAnnouncementTimeout {
			delete(d.partial, origin)
		}
	}
	expired := len(d.origins) < n
	d.mu.Unlock()
	if expired {
		d.touch()
	}
}

// takeAnnouncement records an announcement that arrived, after checking it
// against the directory's bounds. An announcement in parts replaces the
// origin's entries once every part of its generation has arrived.
func (d *Directory) takeAnnouncement(m *RawMessage) {
	if m.Origin == d.p.id {
		return // p's own entries are read live
	}
	ann, err := decodeAnnouncement(m.Payload)
	if err != nil {
		d.p.directoryRejected.Add(1)
		return
	}
	d.mu.Lock()
	_, known := d.origins[m.Origin]
	_, partial := d.partial[m.Origin]
	switch {
	case ann.GetClosing():
		delete(d.origins, m.Origin)
		delete(d.partial, m.Origin)
	case !known && !partial && len(d.origins)+len(d.partial) >= maxDirectoryOrigins:
		d.mu.Unlock()
		d.p.directoryRejected.Add(1)
		return
	default:
		entries, complete, ok := d.gather(m.Origin, ann)
		if !ok {
			d.mu.Unlock()
			d.p.directoryRejected.Add(1)
			return
		}
		if !complete {
			d.mu.Unlock()
			return
		}
		ttl := time.Duration(ann.GetTtlMillis()) * time.Millisecond
		d.origins[m.Origin] = &announced{
			entries: entries,
			expires: time.Now().Add(min(max(ttl, minDirectoryTTL), maxDirectoryTTL)),
		}
	}
	d.mu.Unlock()
	d.touch()
}

// partialAnnouncementTimeout is how long the parts of one announcement may
// take to arrive before what came of them is dropped.
const partialAnnouncementTimeout = 10 * time.Second

// A partialAnnouncement is what has arrived of an announcement in parts.
type partialAnnouncement struct {
	since      time.Time // parts go out back to back: a straggler is lost
	generation uint64
	got        map[uint32]bool
	entries    []*plexov1.DirectoryEntry
}

// gather adds one part of an announcement and returns the whole entries
// once every part of its generation is there; a part of a newer generation
// drops what an older one left. It reports !ok for a part that would take
// the origin beyond maxAnnouncedEntries. d.mu is held.
func (d *Directory) gather(origin uint64, ann *plexov1.Directory) (entries []*plexov1.DirectoryEntry, complete, ok bool) {
	if ann.GetParts() <= 1 {
		delete(d.partial, origin)
		return ann.GetEntries(), true, true
	}
	pa := d.partial[origin]
	if pa == nil || pa.generation != ann.GetGeneration() {
		pa = &partialAnnouncement{since: time.Now(), generation: ann.GetGeneration(), got: make(map[uint32]bool)}
		d.partial[origin] = pa
	}
	if pa.got[ann.GetPart()] {
		return nil, false, true // a duplicate part
	}
	if len(pa.entries)+len(ann.GetEntries()) > maxAnnouncedEntries {
		delete(d.partial, origin)
		return nil, false, false
	}
	pa.got[ann.GetPart()] = true
	pa.entries = append(pa.entries, ann.GetEntries()...)
	if len(pa.got) < int(ann.GetParts()) {
		return nil, false, true
	}
	delete(d.partial, origin)
	return pa.entries, true, true
}

// decodeAnnouncement decodes a Directory announcement and checks every
// entry: a valid topic name, a valid message name or none, a codec name.
func decodeAnnouncement(data []byte) (*plexov1.Directory, error) {
	ann := new(plexov1.Directory)
	if err := proto.Unmarshal(data, ann); err != nil {
		return nil, err
	}
	if len(ann.GetEntries()) > maxAnnouncedEntries {
		return nil, fmt.Errorf("%d entries, more than %d", len(ann.GetEntries()), maxAnnouncedEntries)
	}
	if parts := ann.GetParts(); parts > maxAnnouncementParts || parts > 1 && ann.GetPart() >= parts {
		return nil, fmt.Errorf("part %d of %d", ann.GetPart(), parts)
	}
	for _, e := range ann.GetEntries() {
		switch name := protoreflect.FullName(e.GetMessage()); {
		case !ValidTopicName(e.GetTopic()), ReservedTopic(e.GetTopic()):
			return nil, fmt.Errorf("invalid topic name %q", e.GetTopic())
		case name != "" && !name.IsValid():
			return nil, fmt.Errorf("invalid message name %q", name)
		case !validCodecName(e.GetCodec()):
			return nil, fmt.Errorf("invalid codec name %q", e.GetCodec())
		}
	}
	return ann, nil
}

// validCodecName reports whether s can be a codec name: the last dotted
// part of a topic name.
func validCodecName(s string) bool {
	return s != "" && !strings.Contains(s, ".") && ValidTopicName("x."+s)
}

// takeDescriptorSet records a descriptor set that a peer shared, after
// checking that it declares its message and fits the directory's bounds.
func (d *Directory) takeDescriptorSet(m *RawMessage) {
	var shared plexov1.DescriptorSet
	if err := proto.Unmarshal(m.Payload, &shared); err != nil {
		d.p.directoryRejected.Add(1)
		return
	}
	name := protoreflect.FullName(shared.GetMessage())
	d.mu.Lock()
	_, known := d.descriptors[name]
	full := d.descBytes+len(shared.GetFileDescriptorSet()) > maxDescriptorBytes
	d.mu.Unlock()
	if known {
		return
	}
	md, set, err := decodeDescriptorSet(shared.GetFileDescriptorSet(), name)
	if err != nil || full {
		d.p.directoryRejected.Add(1)
		return
	}
	d.mu.Lock()
	if _, known := d.descriptors[name]; !known {
		d.descriptors[name] = &sharedDescriptor{md: md, set: set}
		d.descBytes += len(shared.GetFileDescriptorSet())
	}
	d.mu.Unlock()
	d.touch()
}
