package multicast

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
	"github.com/plexo-go/plexo/runtime/multicast/internal/repair"
)

// publishers holds the topics this node publishes, by name for Send and by
// id for NAKs. A topic is added the first time it is sent, and stays for
// the transport's life.
type publishers struct {
	mu     sync.RWMutex
	byName map[string]*pubTopic
	byID   map[agree.TopicID]*pubTopic
}

// named returns the publisher of topic name, or nil.
func (ps *publishers) named(name string) *pubTopic {
	ps.mu.RLock()
	p := ps.byName[name]
	ps.mu.RUnlock()
	return p
}

// withID returns the publisher of topic id, or nil.
func (ps *publishers) withID(id agree.TopicID) *pubTopic {
	ps.mu.RLock()
	p := ps.byID[id]
	ps.mu.RUnlock()
	return p
}

// add returns the publisher of topic name, made by newTopic if there is
// none yet, and whether it was made.
func (ps *publishers) add(name string, newTopic func() *pubTopic) (*pubTopic, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.byName[name]; p != nil {
		return p, false
	}
	p := newTopic()
	ps.byName[name] = p
	ps.byID[p.id] = p
	return p, true
}

// A pubTopic is the sending state of one published topic.
type pubTopic struct {
	id     agree.TopicID
	prefix []byte       // DATA prefix: the length-prefixed name
	seq    uint64       // guarded by sendMu
	ring   *repair.Ring // recent messages for NAK repair, guarded by sendMu; nil: repair off
	group  atomic.Uint32
	// During make-before-break, the old group also gets every message
	// until oldUntil (unix ns).
	old      atomic.Uint32
	oldUntil atomic.Int64
}

// Send implements [plexo.Transport]: the message goes out on its topic's
// group at once, whoever listens.
func (t *Transport) Send(_ context.Context, msg *plexo.Message) error {
	if s, ok := msg.Source.(*peer); ok && s.t == t {
		return nil // multicast peers got it already
	}
	if len(msg.Topic) > 0xffff || len(msg.Payload)+len(msg.Topic)+18 > t.cfg.maxMessage {
		return fmt.Errorf("multicast: send %s: %d bytes: %w", msg.Topic, len(msg.Payload), plexo.ErrMessageTooLarge)
	}
	p := t.pubs.named(msg.Topic)
	if p == nil {
		var err error
		if p, err = t.publish(msg.Topic); err != nil {
			return err
		}
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	b := append(t.prefixBuf[:0], p.prefix...)
	b = binary.LittleEndian.AppendUint64(b, msg.Origin)
	b = binary.LittleEndian.AppendUint64(b, msg.Sequence)
	t.prefixBuf = b
	// The sequence number is taken only once the message is framed: one
	// skipped would be counted lost, and asked for, by every receiver.
	frames, err := t.writer.Frames(frame.KindData, uint64(p.id), p.seq+1, b, msg.Payload)
	if err != nil {
		return fmt.Errorf("multicast: send %s: %w", msg.Topic, plexo.ErrMessageTooLarge)
	}
	p.seq++
	if p.ring != nil {
		p.ring.Put(p.seq, frames)
	}
	if err := t.write(frames, p.group.Load()); err != nil {
		return fmt.Errorf("multicast: send %s: %w", msg.Topic, err)
	}
	if until := p.oldUntil.Load(); until != 0 {
		if time.Now().UnixNano() < until {
			_ = t.write(frames, p.old.Load())
		} else {
			// Only the grace period read above ends: a relocation may
			// have started a new one meanwhile.
			p.oldUntil.CompareAndSwap(until, 0)
		}
	}
	t.counters.sent.Add(1)
	return nil
}

// write multicasts frames on group g, stopping at the first error;
// t.sendMu held.
func (t *Transport) write(frames [][]byte, g uint32) error {
	dst := netip.AddrPortFrom(t.layout.addr(g), t.cfg.dataPort)
	for _, f := range frames {
		if _, err := t.sender.WriteToUDPAddrPort(f, dst); err != nil {
			t.counters.sendErrors.Add(1)
			return err
		}
		t.counters.datagramsSent.Add(1)
	}
	return nil
}

// publish registers a topic this node publishes, the first time it sends:
// it takes the topic's current group and tells the node of the interest.
func (t *Transport) publish(topic string) (*pubTopic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("multicast: send %s: %w", topic, plexo.ErrClosed)
	}
	if !t.started {
		return nil, fmt.Errorf("multicast: send %s: transport not attached", topic)
	}
	id := agree.IDOf(topic)
	p, added := t.pubs.add(topic, func() *pubTopic {
		p := &pubTopic{id: id, prefix: frame.AppendDataPrefix(nil, topic)}
		if t.cfg.repair > 0 {
			p.ring = repair.NewRing(t.cfg.repair, RepairMaxMessage)
		}
		p.group.Store(t.node.Group(id))
		return p
	})
	if !added {
		return p, nil
	}
	local := t.interest[id]
	if local == nil {
		local = &localTopic{name: topic}
		t.interest[id] = local
	}
	local.pub = true
	t.updateNode(id, local)
	t.afterNode()
	return p, nil
}
