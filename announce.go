package plexo

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	plexov1 "github.com/plexo-go/plexo/schema/plexo/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// plexo's reserved topics carry the directory of a running system as
// ordinary messages, so that it crosses every transport and bridge with no
// change to any wire format (schema/plexo/v1/directory.proto).
const (
	// directoryQueryTopic carries plexov1.DirectoryQuery. Every Plexus that
	// shares its directory subscribes to it.
	directoryQueryTopic = "plexo.v1.DirectoryQuery.proto"
	// directoryTopic carries plexov1.Directory announcements, published
	// while somebody wants them.
	directoryTopic = "plexo.v1.Directory.proto"
	// descriptorSetTopic carries plexov1.DescriptorSet, published in
	// answer to queries that name message types.
	descriptorSetTopic = "plexo.v1.DescriptorSet.proto"
	// reservedPrefix starts every topic name that plexo reserves.
	reservedPrefix = "plexo.v1."
)

// ReservedTopic reports whether name is one of the topics plexo reserves for
// itself (those of proto package plexo.v1, which carry the directory). They
// work like any topic, but directories and namespace subscriptions leave
// them out.
func ReservedTopic(name string) bool { return strings.HasPrefix(name, reservedPrefix) }

// DefaultDirectoryRefresh is how often a Plexus repeats its directory
// announcement while somebody follows the directory, unless
// [WithDirectoryRefresh] says otherwise. Entries expire after three
// refreshes without one.
const DefaultDirectoryRefresh = 10 * time.Second

// Bounds of what the directory sends and what a Plexus keeps of it.
const (
	maxAnnouncedEntries  = 4096     // entries in one announcement, all its parts together
	maxAnnouncementPart  = 48 << 10 // bytes of entries in one part of an announcement
	maxAnnouncementParts = 256
	maxQueriedNames      = 64      // message names one query may ask for
	maxDirectoryOrigins  = 1024    // announcing Plexus values remembered
	maxDescriptorSetSize = 1 << 20 // bytes of one shared FileDescriptorSet
	maxDescriptorBytes   = 16 << 20
	maxDirectoryTTL      = time.Hour
	minDirectoryTTL      = time.Second
	minAnnounceSpacing   = 250 * time.Millisecond
)

// An announcer shares a Plexus's directory: it answers queries, announces
// when somebody starts following the directory and whenever the Plexus's
// topics change, repeats the announcement every refresh, and says goodbye
// when the Plexus closes. Its goroutine starts with the first transport.
type announcer struct {
	p       *Plexus
	refresh time.Duration

	mu              sync.Mutex
	started         bool
	stopped         bool
	wantDirectory   bool                               // an announcement is due
	wantDescriptors map[protoreflect.FullName]struct{} // descriptor sets asked for
	descriptorSets  map[protoreflect.FullName][]byte   // serialized, by message name

	// generation numbers the announcements sent in parts; only run's
	// goroutine uses it.
	generation uint64

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newAnnouncer(p *Plexus) *announcer {
	a := &announcer{
		p:              p,
		refresh:        p.cfg.directoryRefresh,
		descriptorSets: make(map[protoreflect.FullName][]byte),
		wake:           make(chan struct{}, 1),
		quit:           make(chan struct{}),
		done:           make(chan struct{}),
	}
	// The query topic is wanted by every sharing Plexus, so that a query
	// reaches them all; the tap answers it without a subscription.
	r := p.lockRoute(directoryQueryTopic)
	r.tap = a.answer
	p.mu.Unlock()
	return a
}

// start starts the goroutine once. The Plexus's mu is held.
func (a *announcer) start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.stopped {
		return
	}
	a.started = true
	go a.run()
}

// stop ends the goroutine and, if somebody follows the directory, tells
// them that this Plexus is gone.
func (a *announcer) stop() {
	a.mu.Lock()
	started := a.started
	a.stopped = true
	a.mu.Unlock()
	if !started {
		return
	}
	close(a.quit)
	<-a.done
	if a.p.wanted(directoryTopic) {
		b, err := proto.Marshal(&plexov1.Directory{Closing: true})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			a.p.publishReserved(ctx, directoryTopic, b)
			cancel()
		}
	}
}

// changed notes that the Plexus's topics changed.
func (a *announcer) changed() {
	a.mu.Lock()
	a.wantDirectory = true
	a.mu.Unlock()
	a.kick()
}

// interestAppeared notes that a peer started wanting a topic. The
// Plexus's mu is held.
func (a *announcer) interestAppeared(topic string) {
	if topic == directoryTopic {
		a.changed()
	}
}

// answer handles a query that arrived.
func (a *announcer) answer(msg *Message) {
	var q plexov1.DirectoryQuery
	if err := proto.Unmarshal(msg.Payload, &q); err != nil || len(q.GetDescriptors()) > maxQueriedNames {
		a.p.directoryRejected.Add(1)
		return
	}
	a.mu.Lock()
	a.wantDirectory = true
	for _, name := range q.GetDescriptors() {
		if n := protoreflect.FullName(name); n.IsValid() {
			if a.wantDescriptors == nil {
				a.wantDescriptors = make(map[protoreflect.FullName]struct{})
			}
			a.wantDescriptors[n] = struct{}{}
		}
	}
	a.mu.Unlock()
	a.kick()
}

func (a *announcer) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run announces until stop. Announcements wait a short random delay after
// what caused them, which gathers a burst of changes into one and spreads
// the answers of many processes to one query.
func (a *announcer) run() {
	defer close(a.done)
	refresh := time.NewTicker(a.refresh)
	defer refresh.Stop()
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	pending := false
	var last time.Time
	for {
		select {
		case <-a.quit:
			delay.Stop()
			return
		case <-a.wake:
			if !pending {
				pending = true
				// At most one answer per minAnnounceSpacing, however
				// many queries (forged ones included) arrive.
				wait := 20*time.Millisecond + rand.N(80*time.Millisecond)
				delay.Reset(max(wait, time.Until(last.Add(minAnnounceSpacing))))
			}
		case <-delay.C:
			pending = false
			last = time.Now()
			a.flush()
		case <-refresh.C:
			a.mu.Lock()
			a.wantDirectory = true
			a.mu.Unlock()
			a.flush()
		}
	}
}

// flush publishes what is due, if somebody wants it.
func (a *announcer) flush() {
	a.mu.Lock()
	wantDirectory, names := a.wantDirectory, a.wantDescriptors
	a.wantDirectory, a.wantDescriptors = false, nil
	a.mu.Unlock()

	p := a.p
	ctx, cancel := context.WithTimeout(p.life, time.Second)
	defer cancel()
	if wantDirectory && p.wanted(directoryTopic) {
		a.announce(ctx)
	}
	if len(names) == 0 || !p.wanted(descriptorSetTopic) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if set := a.descriptorSet(name); set != nil {
			b, err := proto.Marshal(&plexov1.DescriptorSet{Message: string(name), FileDescriptorSet: set})
			if err == nil {
				p.publishReserved(ctx, descriptorSetTopic, b)
			}
		}
	}
}

// announce publishes the Plexus's directory entries: in one message, or in
// parts of at most maxAnnouncementPart bytes when they are more.
func (a *announcer) announce(ctx context.Context) {
	p := a.p
	var entries []*plexov1.DirectoryEntry
	for _, e := range p.localEntries() {
		entries = append(entries, &plexov1.DirectoryEntry{
			Topic: e.topic, Message: string(e.message), Codec: e.codec,
			Publishes: e.publishes, Subscribes: e.subscribes,
		})
	}
	if len(entries) > maxAnnouncedEntries {
		p.log.Warn("plexo: directory announcement cut to its bound", "topics", len(entries), "bound", maxAnnouncedEntries)
		entries = entries[:maxAnnouncedEntries]
	}
	var parts [][]*plexov1.DirectoryEntry
	size := 0
	for i, e := range entries {
		n := proto.Size(e) + 8 // the entry's tag and length, generously
		if i == 0 || size+n > maxAnnouncementPart {
			parts = append(parts, nil)
			size = 0
		}
		parts[len(parts)-1] = append(parts[len(parts)-1], e)
		size += n
	}
	if len(parts) == 0 {
		parts = append(parts, nil) // no topics: say so
	}
	a.generation++
	ttl := uint32(min(3*a.refresh+time.Second, maxDirectoryTTL) / time.Millisecond)
	for i, part := range parts {
		ann := &plexov1.Directory{Entries: part, TtlMillis: ttl}
		if len(parts) > 1 {
			ann.Part, ann.Parts, ann.Generation = uint32(i), uint32(len(parts)), a.generation
		}
		if b, err := proto.Marshal(ann); err == nil {
			p.publishReserved(ctx, directoryTopic, b)
		}
	}
}

// descriptorSet returns the serialized FileDescriptorSet of a message type
// that one of the Plexus's topics uses, or nil.
func (a *announcer) descriptorSet(name protoreflect.FullName) []byte {
	a.mu.Lock()
	set, ok := a.descriptorSets[name]
	a.mu.Unlock()
	if ok {
		return set
	}
	md := a.p.localDescriptor(name)
	if md == nil {
		return nil
	}
	set, err := proto.MarshalOptions{Deterministic: true}.Marshal(fileDescriptorSet(md))
	if err != nil || len(set) > maxDescriptorSetSize {
		return nil
	}
	a.mu.Lock()
	a.descriptorSets[name] = set
	a.mu.Unlock()
	return set
}

// A localEntry is one of the Plexus's own topics as its directory shows it.
type localEntry struct {
	topic                 string
	message               protoreflect.FullName
	codec                 string
	publishes, subscribes bool
}

// localEntries lists the Plexus's own topics, reserved ones left out,
// sorted by name.
func (p *Plexus) localEntries() []localEntry {
	var entries []localEntry
	p.mu.Lock()
	p.eachRoute(func(r *route) {
		publishes, subscribes := r.publishing.Load(), r.localSubs > 0
		if ReservedTopic(r.name) || !publishes && !subscribes {
			return
		}
		var name protoreflect.FullName
		if md := r.messageDescriptor(); md != nil {
			name = md.FullName()
		}
		entries = append(entries, localEntry{
			topic: r.name, message: name, codec: r.codecName(),
			publishes: publishes, subscribes: subscribes,
		})
	})
	p.mu.Unlock()
	slices.SortFunc(entries, func(a, b localEntry) int { return strings.Compare(a.topic, b.topic) })
	return entries
}

// localDescriptor returns the descriptor of a message type that one of the
// Plexus's own topics uses, or nil.
func (p *Plexus) localDescriptor(name protoreflect.FullName) protoreflect.MessageDescriptor {
	var found protoreflect.MessageDescriptor
	p.routes.Range(func(_, v any) bool {
		if md := v.(*route).messageDescriptor(); md != nil && md.FullName() == name {
			found = md
			return false
		}
		return true
	})
	return found
}

// messageDescriptor returns the message type of the route's topic: its Go
// type's, or the one DescribeTopic gave; nil if neither is known.
func (r *route) messageDescriptor() protoreflect.MessageDescriptor {
	if d := r.binding.Load(); d != nil {
		if md := d.descriptor(); md != nil {
			return md
		}
	}
	if t := r.described.Load(); t != nil {
		return t.md
	}
	return nil
}

// wanted reports whether a peer reached through a transport wants topic.
func (p *Plexus) wanted(topic string) bool {
	r := p.lookup(topic)
	if r == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(r.hops) > 0
}

// publishReserved publishes one of plexo's own messages on a reserved
// topic: to raw subscribers here and to the transports that want it. It
// works while Close is saying goodbye.
func (p *Plexus) publishReserved(ctx context.Context, topic string, payload []byte) {
	_ = p.emit(ctx, p.routeFor(topic), payload)
}

// directoryChanged tells the announcer and the Directory values following
// p that p's own topics changed.
func (p *Plexus) directoryChanged() {
	if p.sharing != nil {
		p.sharing.changed()
	}
	p.watchMu.Lock()
	for d := range p.watchers {
		d.touch()
	}
	p.watchMu.Unlock()
}
