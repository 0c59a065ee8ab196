package plexo

// Stats is a snapshot of a Plexus's counters, as returned by [Plexus.Stats].
// Counters only grow; they are read without stopping the Plexus, so they
// may be mutually inconsistent by the messages in flight.
type Stats struct {
	// Topics has an entry for every topic the Plexus routes: those bound to
	// a Go type, subscribed here or wanted by a peer, and those it heard of
	// recently. A topic that nobody needs any more is forgotten, with its
	// counters, a minute after it became idle (or sooner when thousands are).
	// plexo's own directory topics are among them (see [ReservedTopic]).
	Topics map[string]TopicStats
	// Duplicates counts arrivals dropped because the Plexus had already
	// seen their origin and sequence (bridge cycles) or published them.
	Duplicates uint64
	// Unrouted counts arrivals, duplicates excluded, for topics with no
	// entry in Topics; they are dropped. An arrival for a topic with an
	// entry counts in that topic's Received instead, even when nobody
	// wants the topic any more.
	Unrouted uint64
	// TransportErrors counts failed hand-offs to transports.
	TransportErrors uint64
	// DirectoryRejected counts directory messages that arrived malformed,
	// forged or beyond the directory's bounds (announcements, queries and
	// shared descriptor sets), and were dropped.
	DirectoryRejected uint64
}

// TopicStats counts one topic's traffic through a Plexus.
type TopicStats struct {
	Published     uint64 // messages published in this process
	Received      uint64 // messages that arrived from transports, duplicates excluded
	Forwarded     uint64 // hand-offs to transports (one per transport per message)
	Delivered     uint64 // handler calls that returned
	Dropped       uint64 // messages lost to subscriptions' overflow policies or closes
	DecodeErrors  uint64 // arrivals that could not be decoded
	Panics        uint64 // handler calls that panicked
	Subscriptions int    // local subscriptions now
	// InterestedTransports counts the attached transports with a peer that
	// wants the topic now.
	InterestedTransports int
}

// Stats returns a snapshot of p's counters.
func (p *Plexus) Stats() Stats {
	st := Stats{
		Topics:          make(map[string]TopicStats),
		Duplicates:      p.duplicates.Load(),
		Unrouted:        p.unrouted.Load(),
		TransportErrors: p.transportErrors.Load(),

		DirectoryRejected: p.directoryRejected.Load(),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eachRoute(func(r *route) {
		ts := TopicStats{
			Published:            r.published.Load(),
			Received:             r.received.Load(),
			Forwarded:            r.forwarded.Load(),
			DecodeErrors:         r.decodeErrors.Load(),
			Delivered:            r.retired.delivered.Load(),
			Dropped:              r.retired.dropped.Load(),
			Panics:               r.retired.panics.Load(),
			Subscriptions:        r.localSubs,
			InterestedTransports: r.interestedLinks(),
		}
		for _, s := range *r.subs.Load() {
			ts.Delivered += s.counters.delivered.Load()
			ts.Dropped += s.counters.dropped.Load()
			ts.Panics += s.counters.panics.Load()
		}
		st.Topics[r.name] = ts
	})
	return st
}
