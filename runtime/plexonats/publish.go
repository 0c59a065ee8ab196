package plexonats

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// A subjectEntry is a topic's NATS subject, or why the topic has none, as
// Transport.subject caches it.
type subjectEntry struct {
	subject string
	err     error
}

// Send implements [plexo.Transport]: it publishes msg on its topic's subject
// with the plexo headers. The payload is published as is.
func (t *Transport) Send(_ context.Context, msg *plexo.Message) error {
	if msg.Source == t {
		return nil // it came from NATS
	}
	if t.closed.Load() {
		return fmt.Errorf("plexonats: send %s: %w", msg.Topic, plexo.ErrClosed)
	}
	subject, err := t.subject(msg.Topic)
	if err != nil {
		t.invalid.Add(1)
		return errorf("plexonats: send %s: %w", msg.Topic, err)
	}
	o := getOutMsg(subject, msg.Origin, msg.Sequence, msg.Payload)
	err = t.nc.PublishMsg(&o.m)
	putOutMsg(o)
	if err != nil {
		t.sendErrors.Add(1)
		if errors.Is(err, nats.ErrMaxPayload) {
			return fmt.Errorf("plexonats: send %s: %w: %w", msg.Topic, plexo.ErrMessageTooLarge, err)
		}
		return fmt.Errorf("plexonats: send %s: %w", msg.Topic, err)
	}
	t.sent.Add(1)
	return nil
}

// subject returns the subject of a topic, or why it has none, and logs an
// invalid topic the first time it sees it.
func (t *Transport) subject(topic string) (string, error) {
	t.subjectsMu.RLock()
	e, ok := t.subjects[topic]
	t.subjectsMu.RUnlock()
	if ok {
		return e.subject, e.err
	}
	e.subject = t.cfg.prefix + topic
	if e.err = checkSubject(e.subject); e.err != nil {
		e.subject = ""
		t.logger().Warn("plexonats: topic does not make a valid NATS subject", "topic", topic, "error", e.err)
	}
	t.subjectsMu.Lock()
	if len(t.subjects) < 1<<16 { // bound what bogus names can pin
		t.subjects[topic] = e
	}
	t.subjectsMu.Unlock()
	return e.subject, e.err
}
