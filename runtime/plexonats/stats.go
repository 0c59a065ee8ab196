package plexonats

// Stats counts a transport's traffic. Counters only grow, except
// Subscriptions and RemotePeers.
type Stats struct {
	// Sent counts messages published to NATS: those published in this
	// Plexus and those it bridged from its other transports, never those
	// that came from NATS.
	Sent uint64
	// SendErrors counts messages nats.go refused to publish (closed
	// connection, reconnect buffer full, message over the server's limit).
	SendErrors uint64
	// Received counts messages that came from NATS and were handed to the
	// Plexus, plain ones included; echoes and malformed ones are not.
	Received uint64
	// Plain counts the received messages without plexo headers, from plain
	// NATS clients.
	Plain uint64
	// Echoes counts messages dropped because NATS echoed this Plexus's own
	// publishes back to it.
	Echoes uint64
	// Malformed counts messages dropped for unparsable plexo headers.
	Malformed uint64
	// InvalidTopics counts sends and subscriptions refused because the
	// topic name does not make a valid subject (see [ErrInvalidSubject]).
	InvalidTopics uint64
	// Dropped counts messages NATS dropped because a subscription exceeded
	// its pending limits (a slow consumer), the interest exchange's
	// subscription included.
	Dropped uint64
	// Subscriptions is the number of topic subscriptions now.
	Subscriptions int
	// RemotePeers is the number of other plexonats transports known to want
	// at least one topic now.
	RemotePeers int
}

// Stats returns the transport's counters, first counting what NATS dropped
// since the last look.
func (t *Transport) Stats() Stats {
	t.pollDrops()
	t.mu.Lock()
	nsubs := len(t.subs)
	t.mu.Unlock()
	return Stats{
		Sent:          t.sent.Load(),
		SendErrors:    t.sendErrors.Load(),
		Received:      t.received.Load(),
		Plain:         t.plain.Load(),
		Echoes:        t.echoes.Load(),
		Malformed:     t.malformed.Load(),
		InvalidTopics: t.invalid.Load(),
		Dropped:       t.dropped.Load(),
		Subscriptions: nsubs,
		RemotePeers:   t.remote.peerCount(),
	}
}
