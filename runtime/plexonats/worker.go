package plexonats

import (
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// maintenancePeriod is how often, at most, the transport looks for
// slow-consumer drops, expired peers and refreshes due; a shorter interest
// refresh makes it look more often.
const maintenancePeriod = time.Second

// queryBackoff is when, after starting or reconnecting, the transport asks
// the other transports again for their interest: in a cluster, a server
// learns of a new subscription a little after the client made it, so the
// first announcements between new transports may reach nobody.
var queryBackoff = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, time.Second, 3 * time.Second}

// run subscribes and unsubscribes as the Plexus advertises, exchanges
// interest, and watches for drops, until Close.
func (t *Transport) run() {
	defer close(t.done)
	var (
		ctrl    *subscription
		status  chan nats.Status
		queries int // how many of queryBackoff are done
	)
	query := time.NewTimer(0)
	defer query.Stop()
	if t.cfg.exchange {
		status = t.nc.StatusChanged(nats.CONNECTED)
		ctrl = t.subscribeInterest()
		t.mu.Lock()
		t.ctrl = ctrl
		t.mu.Unlock()
	} else {
		query.Stop()
	}
	tick := time.NewTicker(min(maintenancePeriod, t.cfg.refresh/2))
	defer tick.Stop()
	nextSync := time.Now().Add(t.cfg.refresh)
	for {
		select {
		case <-t.wake:
			t.applyOps()
		case <-tick.C:
			nextSync = t.maintain(time.Now(), nextSync)
		case <-query.C:
			t.announce(kindQuery, nil)
			if queries < len(queryBackoff) {
				query.Reset(queryBackoff[queries])
				queries++
			}
		case <-status:
			// Reconnected: what was announced meanwhile may be lost, a
			// remove included, so sync even with no subscription left.
			t.announce(kindSync, t.subscribedEntries())
			queries = 0
			query.Reset(0)
		case <-t.quit:
			t.shutdown(ctrl, status)
			return
		}
	}
}

// maintain is the worker's periodic work: it counts the subscriptions'
// slow-consumer drops and, with the interest exchange, forgets the peers'
// interest that expired and sends the periodic sync once nextSync has come.
// It returns when the next sync is due.
func (t *Transport) maintain(now, nextSync time.Time) time.Time {
	t.pollDrops()
	if !t.cfg.exchange {
		return nextSync
	}
	t.remote.expire(now)
	if now.Before(nextSync) {
		return nextSync
	}
	// Peers forget a transport that stops syncing after three intervals;
	// until then, empty syncs tell those that missed its last remove.
	if len(t.subs) > 0 || t.emptySyncs > 0 {
		t.announce(kindSync, t.subscribedEntries())
		if len(t.subs) == 0 {
			t.emptySyncs--
		}
	}
	return now.Add(t.cfg.refresh)
}

func (t *Transport) shutdown(ctrl *subscription, status chan nats.Status) {
	t.mu.Lock()
	t.ops = nil
	t.mu.Unlock()
	hadSubs := len(t.subs) > 0
	for _, s := range t.subs {
		t.unsubscribe(s)
	}
	t.mu.Lock()
	clear(t.subs)
	t.mu.Unlock()
	if ctrl != nil {
		t.mu.Lock()
		t.ctrl = nil
		t.mu.Unlock()
		t.unsubscribe(ctrl)
	}
	if status != nil {
		t.nc.RemoveStatusListener(status)
		if hadSubs {
			t.announce(kindBye, nil)
		}
	}
}

// applyOps carries out the advertisements queued so far, in order.
func (t *Transport) applyOps() {
	for _, op := range t.takeOps() {
		s := t.subs[op.topic]
		switch {
		case op.sync:
			// Answered even with no subscription: the querier may still
			// hold interest from a remove it missed while disconnected.
			t.announce(kindSync, t.subscribedEntries())
		case op.hops > 0 && s == nil:
			subject, err := t.subject(op.topic)
			if err != nil {
				t.invalid.Add(1)
				continue
			}
			s, err = t.subscribe(op.topic, subject, t.cfg.queueGroup)
			if err != nil {
				t.logger().Warn("plexonats: subscribe failed", "subject", subject, "error", err)
				continue
			}
			s.hops = op.hops
			t.mu.Lock()
			t.subs[op.topic] = s
			t.mu.Unlock()
			t.announce(kindAdd, []interestEntry{{subject, op.hops}})
		case op.hops > 0 && s.hops != op.hops:
			s.hops = op.hops
			t.announce(kindAdd, []interestEntry{{s.subject, op.hops}})
		case op.hops == 0 && s != nil:
			t.mu.Lock()
			delete(t.subs, op.topic)
			t.mu.Unlock()
			t.unsubscribe(s)
			t.announce(kindRemove, []interestEntry{{s.subject, 0}})
			if len(t.subs) == 0 {
				t.emptySyncs = 3
			}
		}
	}
}

// takeOps returns the advertisements queued so far, for the worker.
func (t *Transport) takeOps() []advertiseOp {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := t.ops
	t.ops = nil
	t.syncing = false
	return ops
}

// unsubscribe closes a data subscription, counting its last drops.
func (t *Transport) unsubscribe(s *subscription) {
	t.pollDrop(s)
	s.close()
}

// pollDrops counts what NATS dropped for the subscriptions since last time,
// the interest exchange's included: interest messages lost there (a remove
// among them) are as much a slow consumer's loss as data.
func (t *Transport) pollDrops() {
	t.mu.Lock()
	subs := make([]*subscription, 0, len(t.subs)+1)
	for _, s := range t.subs {
		subs = append(subs, s)
	}
	if t.ctrl != nil {
		subs = append(subs, t.ctrl)
	}
	t.mu.Unlock()
	for _, s := range subs {
		t.pollDrop(s)
	}
}

func (t *Transport) pollDrop(s *subscription) {
	t.dropMu.Lock()
	defer t.dropMu.Unlock()
	n, err := s.sub.Dropped()
	if err != nil || n <= s.reported {
		return
	}
	t.dropped.Add(uint64(n - s.reported))
	t.logger().Warn("plexonats: slow consumer: NATS dropped messages", "subject", s.subject, "dropped", n-s.reported, "total", n)
	s.reported = n
}

// subscribedEntries returns the subjects of the data subscriptions with the
// distances the Plexus advertised for them.
func (t *Transport) subscribedEntries() []interestEntry {
	entries := make([]interestEntry, 0, len(t.subs))
	for _, s := range t.subs {
		entries = append(entries, interestEntry{s.subject, s.hops})
	}
	slices.SortFunc(entries, func(a, b interestEntry) int { return strings.Compare(a.subject, b.subject) })
	return entries
}

// announce tells the other plexonats transports about this one's interest.
func (t *Transport) announce(kind string, entries []interestEntry) {
	if !t.cfg.exchange {
		return
	}
	msgs, skipped := newInterestMsgs(t.interestSubject, t.id, kind, t.cfg.refresh, entries, int(t.nc.MaxPayload()))
	if len(skipped) > 0 {
		t.logger().Warn("plexonats: subjects too long to announce under the server's maximum payload",
			"kind", kind, "skipped", len(skipped), "first", skipped[0].subject, "max_payload", t.nc.MaxPayload())
	}
	for _, m := range msgs {
		if err := t.nc.PublishMsg(m); err != nil {
			t.logger().Debug("plexonats: interest announcement failed", "kind", kind, "error", err)
			return
		}
	}
}

// requestSync makes the worker announce all its subscriptions soon. The
// requests that come before the worker gets to them make one sync: a flood
// of queries, forged or from many transports starting at once, neither
// grows the queue nor draws a sync for each.
func (t *Transport) requestSync() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing || t.syncing {
		return
	}
	t.syncing = true
	t.ops = append(t.ops, advertiseOp{sync: true})
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
