package tcp

import (
	"fmt"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/interest"
)

// maxTopicsPerPeer bounds the topics one peer may subscribe to; a peer
// asking for more is disconnected.
const maxTopicsPerPeer = 1 << 14

// maxTopicBytesPerPeer bounds the bytes of the topic names one peer may
// subscribe to at once, which the Transport keeps: without it, names as
// long as the maximum frame would let maxTopicsPerPeer of them pin
// gigabytes. A peer asking for more is disconnected.
const maxTopicBytesPerPeer = 4 << 20

// peerInterest records p's distance, in hops, to topic's nearest
// subscriber; 0 means p no longer wants the topic. It costs O(peers), to
// tell the other peers what changed, and O(1) per peer: the distances the
// peers report are counted per distance (see internal/interest).
func (t *Transport) peerInterest(h plexo.Host, p *peer, topic string, hops int) error {
	t.reportMu.Lock()
	defer t.reportMu.Unlock()
	t.mu.Lock()
	hops = interest.Clamp(hops)
	old := p.wants[topic]
	if p.removed || old == hops {
		t.mu.Unlock()
		return nil
	}
	if hops > 0 {
		if old == 0 {
			if len(p.wants) >= maxTopicsPerPeer {
				t.mu.Unlock()
				return fmt.Errorf("%w: peer subscribed to more than %d topics", ErrProtocol, maxTopicsPerPeer)
			}
			if p.wantBytes+len(topic) > maxTopicBytesPerPeer {
				t.mu.Unlock()
				return fmt.Errorf("%w: peer subscribed to topic names of more than %d bytes", ErrProtocol, maxTopicBytesPerPeer)
			}
			p.wantBytes += len(topic)
		}
		p.wants[topic] = hops
	} else {
		p.wantBytes -= len(topic)
		delete(p.wants, topic)
	}
	if old == 0 || hops == 0 {
		t.setTableLocked(topic, p, hops > 0)
	}
	report, changed := t.countLocked(topic, old, hops)
	t.mu.Unlock()
	// The Host hears first, and only then the other peers: a listener
	// forwards between its peers through its Plexus, so a peer that learns
	// of the interest and publishes at once must find the Plexus already
	// forwarding to this transport. reportMu keeps reports in order; an
	// Advertise that the Host makes meanwhile syncs the peers itself.
	if changed {
		h.SetInterest(topic, report)
	}
	t.mu.Lock()
	t.syncTopicLocked(topic)
	t.mu.Unlock()
	return nil
}

// countLocked moves one peer's report for topic from old to hops in the
// per-distance counts, and returns the smallest distance over the peers,
// for the Host, and whether it changed. t.mu must be held.
func (t *Transport) countLocked(topic string, old, hops int) (nearest int, changed bool) {
	c := t.counts[topic]
	if c == nil {
		if hops == 0 {
			return 0, false
		}
		c = new(interest.Counts)
		t.counts[topic] = c
	}
	before := c.Nearest()
	c.Move(old, hops)
	nearest = c.Nearest()
	if c.Len() == 0 {
		delete(t.counts, topic)
	}
	return nearest, nearest != before
}

// horizonLocked reads topic's per-distance counts once, for the distance
// told to each peer. t.mu must be held.
func (t *Transport) horizonLocked(topic string) interest.Horizon {
	if c := t.counts[topic]; c != nil {
		return c.Horizon()
	}
	return interest.Horizon{}
}

// setTableLocked adds p to, or removes it from, the peers Send gives
// topic's messages to. t.mu must be held.
func (t *Transport) setTableLocked(topic string, p *peer, wanted bool) {
	t.tableMu.Lock()
	defer t.tableMu.Unlock()
	old := t.table[topic]
	next := make([]*peer, 0, len(old)+1)
	for _, q := range old {
		if q != p {
			next = append(next, q)
		}
	}
	if wanted {
		next = append(next, p)
	}
	if len(next) == 0 {
		delete(t.table, topic)
	} else {
		t.table[topic] = next
	}
}

// syncTopicLocked brings what every peer was told about topic up to date.
// t.mu must be held.
func (t *Transport) syncTopicLocked(topic string) {
	z, adv := t.horizonLocked(topic), t.adv[topic]
	for p := range t.peers {
		t.tellLocked(p, topic, z.Advertise(adv, p.wants[topic]))
	}
}

// syncPeerLocked brings what p was told about topic up to date. t.mu must
// be held.
func (t *Transport) syncPeerLocked(p *peer, topic string) {
	t.tellLocked(p, topic, t.horizonLocked(topic).Advertise(t.adv[topic], p.wants[topic]))
}

// tellLocked tells p its distance to topic's nearest subscriber through
// this side, if that changed: the smaller of what the Plexus advertised and
// one more than what the other peers report, none beyond [plexo.MaxHops],
// as hops gives it. t.mu must be held.
func (t *Transport) tellLocked(p *peer, topic string, hops int) {
	if 2+len(topic) > p.maxOut {
		// A SUBSCRIBE the peer could not accept (nor any DATA of the
		// topic, which is longer still).
		hops = 0
	}
	if hops == p.told[topic] {
		return
	}
	if hops > 0 {
		p.told[topic] = hops
	} else {
		delete(p.told, topic)
	}
	p.tell(hops, topic)
}
