package plexo

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
)

// A NamespaceSubscription is a raw subscription to every topic under a
// namespace prefix, made by [Plexus.SubscribeNamespace]. It is safe for
// concurrent use.
type NamespaceSubscription struct {
	p      *Plexus
	prefix string
	handle func(context.Context, *RawMessage)
	opts   []SubscribeOption
	dir    *Directory

	mu   sync.Mutex
	subs map[string]*Subscription

	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// SubscribeNamespace calls h with every message of every topic whose name
// starts with prefix, such as "acme.water." ("" for every topic), still
// encoded, as [Plexus.SubscribeRaw] does for one topic. It follows the
// directory ([Plexus.WatchDirectory]): it subscribes to a topic as soon as
// some Plexus announces that it publishes or subscribes to it, and stops
// when the last one has gone. plexo's reserved topics are left out unless
// prefix starts with their namespace, "plexo.v1.".
//
// Subscriptions to topics that appear later are active shortly after the
// announcement arrives; a message published before that is not delivered.
func (p *Plexus) SubscribeNamespace(ctx context.Context, prefix string, h func(context.Context, *RawMessage), opts ...SubscribeOption) (*NamespaceSubscription, error) {
	if h == nil {
		return nil, opError("subscribe", prefix, ErrNilHandler)
	}
	dir, err := p.WatchDirectory(ctx)
	if err != nil {
		return nil, opError("subscribe", prefix, err)
	}
	s := &NamespaceSubscription{
		p:      p,
		prefix: prefix,
		handle: h,
		opts:   slices.Clone(opts),
		dir:    dir,
		subs:   make(map[string]*Subscription),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	changed := dir.Changed()
	s.follow(ctx)
	go s.run(changed)
	return s, nil
}

// Prefix returns the namespace prefix the subscription follows.
func (s *NamespaceSubscription) Prefix() string { return s.prefix }

// Topics returns the names of the topics subscribed to now, sorted.
func (s *NamespaceSubscription) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.subs))
}

// Close ends the subscription to every topic, waiting for running handler
// calls as [Subscription.Close] does. It is safe to call more than once.
func (s *NamespaceSubscription) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		_ = s.dir.Close()
		s.mu.Lock()
		subs := s.subs
		s.subs = nil
		s.mu.Unlock()
		for _, sub := range subs {
			_ = sub.Close()
		}
	})
	return nil
}

// run follows the directory until Close or until the Plexus closes.
func (s *NamespaceSubscription) run(changed <-chan struct{}) {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		case <-s.dir.done:
			return
		case <-changed:
		}
		changed = s.dir.Changed()
		s.follow(s.p.life)
	}
}

// follow subscribes to the topics under the prefix that the directory
// lists and unsubscribes from those it no longer does.
func (s *NamespaceSubscription) follow(ctx context.Context) {
	want := make(map[string]bool)
	for _, ti := range s.dir.Topics() {
		if s.matches(ti.Topic) && s.present(ti) {
			want[ti.Topic] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		return
	}
	for topic, sub := range s.subs {
		if !want[topic] {
			delete(s.subs, topic)
			_ = sub.Close()
		}
	}
	for topic := range want {
		if s.subs[topic] != nil {
			continue
		}
		sub, err := s.p.SubscribeRaw(ctx, topic, s.handle, s.opts...)
		if err != nil {
			s.p.log.Debug("plexo: namespace subscription could not follow a topic", "topic", topic, "error", err)
			continue
		}
		s.subs[topic] = sub
	}
}

// matches reports whether topic lies under the subscription's prefix.
func (s *NamespaceSubscription) matches(topic string) bool {
	if ReservedTopic(topic) && !strings.HasPrefix(s.prefix, reservedPrefix) {
		return false
	}
	return strings.HasPrefix(topic, s.prefix)
}

// present reports whether a Plexus other than the subscription's own
// subscribes to the topic, or any publishes it: the subscription's own
// interest alone does not keep a topic alive.
func (s *NamespaceSubscription) present(ti TopicInfo) bool {
	if len(ti.Publishers) > 0 {
		return true
	}
	return slices.ContainsFunc(ti.Subscribers, func(id uint64) bool { return id != s.p.id })
}
