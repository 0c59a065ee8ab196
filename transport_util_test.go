package plexo_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/plexo-go/plexo"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// nopTransport does nothing.
type nopTransport struct{}

func (nopTransport) Start(plexo.Host) error                     { return nil }
func (nopTransport) Advertise(string, int)                      {}
func (nopTransport) Send(context.Context, *plexo.Message) error { return nil }
func (nopTransport) Close() error                               { return nil }

// recordingTransport records what a Plexus tells it; tests drive its Host.
type recordingTransport struct {
	host   plexo.Host
	closes atomic.Int64

	mu         sync.Mutex
	advertised map[string]int
	sent       []plexo.Message
}

func (r *recordingTransport) Start(h plexo.Host) error { r.host = h; return nil }

func (r *recordingTransport) Advertise(topic string, hops int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.advertised == nil {
		r.advertised = make(map[string]int)
	}
	r.advertised[topic] = hops
}

func (r *recordingTransport) Send(_ context.Context, msg *plexo.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := *msg
	m.Payload = append([]byte(nil), msg.Payload...)
	r.sent = append(r.sent, m)
	return nil
}

func (r *recordingTransport) Close() error { r.closes.Add(1); return nil }

func (r *recordingTransport) sentMessages() []plexo.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]plexo.Message(nil), r.sent...)
}

// advertisedHops returns the distance the Plexus last advertised for topic.
func (r *recordingTransport) advertisedHops(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.advertised[topic]
}
