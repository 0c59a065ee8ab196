package plexonats

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// subscribeInterest subscribes to the interest exchange.
func (t *Transport) subscribeInterest() *subscription {
	s := &subscription{t: t, subject: t.interestSubject, done: make(chan struct{})}
	sub, err := t.nc.Subscribe(s.subject, s.onInterest)
	if err != nil {
		t.logger().Warn("plexonats: cannot exchange interest", "subject", s.subject, "error", err)
		return nil
	}
	s.watch(sub)
	if l := t.interestPendingLimits; l != nil {
		_ = sub.SetPendingLimits(l[0], l[1])
	}
	return s
}

// subscribe subscribes to a topic's subject.
func (t *Transport) subscribe(topic, subject, queue string) (*subscription, error) {
	s := &subscription{t: t, topic: topic, subject: subject, origin: randomOrigin(), done: make(chan struct{})}
	sub, err := t.nc.QueueSubscribe(subject, queue, s.onMsg)
	if err != nil {
		return nil, err
	}
	s.watch(sub)
	if err := sub.SetPendingLimits(t.cfg.pendingMessages, t.cfg.pendingBytes); err != nil {
		t.logger().Debug("plexonats: cannot set pending limits", "subject", subject, "error", err)
	}
	return s, nil
}

// A subscription is one NATS subscription of the transport.
type subscription struct {
	t       *Transport
	topic   string
	subject string
	sub     *nats.Subscription
	done    chan struct{} // closed when NATS's goroutine for sub ends
	hops    int           // the distance the Plexus advertised; worker only

	// origin and seq identify the plain messages received (those without
	// plexo headers): each subscription is an origin of its own, numbering
	// them in arrival order.
	origin uint64

	// mu is held while a message is handled, so that close can wait for the
	// handler in flight.
	mu     sync.Mutex
	closed bool
	seq    uint64
	msg    plexo.Message

	reported int // drops counted so far; guarded by Transport.dropMu
}

// watch records sub as s's and arranges for s.done to be closed when
// NATS's goroutine for it ends. nats.go calls the closed handler only if
// it is set when that goroutine ends, which may already have happened if
// the connection was closed meanwhile: then nothing else would close
// s.done, and close, and with it Transport.Close, would wait for ever.
func (s *subscription) watch(sub *nats.Subscription) {
	if s.t.afterSubscribe != nil {
		s.t.afterSubscribe()
	}
	s.sub = sub
	var once sync.Once
	end := func(string) { once.Do(func() { close(s.done) }) }
	sub.SetClosedHandler(end)
	if !sub.IsValid() {
		// Closed already: its goroutine has ended or is ending, and runs
		// no handler any more.
		end("")
	}
}

// close unsubscribes and waits until no handler runs or will run.
func (s *subscription) close() {
	if err := s.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		s.t.logger().Debug("plexonats: unsubscribe failed", "subject", s.subject, "error", err)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	<-s.done
}

// onMsg hands a message that arrived to the Plexus.
func (s *subscription) onMsg(m *nats.Msg) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	origin, seq, ok, err := parseEnvelope(m.Header)
	switch {
	case err != nil:
		t.malformed.Add(1)
		t.log.Debug("plexonats: dropped a message with malformed plexo headers", "subject", m.Subject)
		return
	case !ok:
		s.seq++
		origin, seq = s.origin, s.seq
		t.plain.Add(1)
	case origin == t.id:
		t.echoes.Add(1) // NATS echoes the connection's own publishes
		return
	}
	t.received.Add(1)
	s.msg = plexo.Message{Topic: s.topic, Payload: m.Data, Origin: origin, Sequence: seq, Source: t}
	t.host.Deliver(&s.msg)
	s.msg.Payload = nil
}

// onInterest records what another plexonats transport announced.
func (s *subscription) onInterest(m *nats.Msg) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	im, err := parseInterest(m.Header, m.Data)
	if err != nil {
		t.log.Debug("plexonats: dropped a malformed interest message", "error", err)
		return
	}
	if im.origin == t.id {
		return
	}
	if im.kind == kindQuery {
		t.requestSync()
		return
	}
	t.remote.apply(im, time.Now())
}

func randomOrigin() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}
