package tcp

import (
	"fmt"

	"github.com/plexo-go/plexo"
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
// subscriber; 0 means p no longer wants the topic.
func (t *Transport) peerInterest(h plexo.Host, p *peer, topic string, hops int) error {
	t.reportMu.Lock()
	defer t.reportMu.Unlock()
	t.mu.Lock()
	if p.removed || p.wants[topic] == hops {
		t.mu.Unlock()
		return nil
	}
	if hops > 0 {
		if p.wants[topic] == 0 {
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
	t.setTableLocked(topic, p, hops > 0)
	changed := t.updateNearestLocked(topic)
	report := t.nearest[topic]
	t.syncTopicLocked(topic)
	t.mu.Unlock()
	if changed {
		h.SetInterest(topic, report)
	}
	return nil
}

// updateNearestLocked recomputes the smallest distance over the peers for
// topic and reports whether it changed. t.mu must be held.
func (t *Transport) updateNearestLocked(topic string) bool {
	nearest := 0
	for q := range t.peers {
		if h := q.wants[topic]; h > 0 && (nearest == 0 || h < nearest) {
			nearest = h
		}
	}
	if nearest == t.nearest[topic] {
		return false
	}
	if nearest == 0 {
		delete(t.nearest, topic)
	} else {
		t.nearest[topic] = nearest
	}
	return true
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
	for p := range t.peers {
		t.syncPeerLocked(p, topic)
	}
}

// syncPeerLocked tells p its distance to topic's nearest subscriber through
// this side, if that changed: the smaller of what the Plexus advertised and
// one more than what the other peers report, none beyond [plexo.MaxHops].
// t.mu must be held.
func (t *Transport) syncPeerLocked(p *peer, topic string) {
	hops := t.adv[topic]
	for q := range t.peers {
		if h := q.wants[topic]; q != p && h > 0 && (hops == 0 || h+1 < hops) {
			hops = h + 1
		}
	}
	if hops > plexo.MaxHops || 2+len(topic) > p.maxOut {
		// Beyond the horizon, or a SUBSCRIBE the peer could not accept
		// (nor any DATA of the topic, which is longer still).
		hops = 0
	}
	if hops == p.told[topic] {
		return
	}
	if hops > 0 {
		p.told[topic] = hops
		p.tell(hops, topic)
	} else {
		delete(p.told, topic)
		p.tell(0, topic)
	}
}
