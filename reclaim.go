package plexo

import "time"

// A Plexus forgets the routes that nobody needs any more, so that a
// long-running bridge that sees topics come and go does not grow for ever.
// A route is idle when no Go type is bound to its name, nobody here
// subscribes to it, no peer wants it, and plexo does not use it itself:
// such a route holds only counters. Idle routes are reclaimed once they
// have been idle for routeGrace, checked whenever a route turns idle, and
// the oldest at once when more than maxIdleRoutes are idle.
const (
	routeGrace    = time.Minute
	maxIdleRoutes = 4096
)

// idleRoute is an entry of the Plexus's queue of routes that turned idle.
// The queue is in the order they did; an entry whose stamp no longer
// matches its route's is stale (the route was used again since).
type idleRoute struct {
	r     *route
	stamp uint64
	since time.Time
}

// idle reports whether nothing holds the route. p.mu is held.
func (r *route) idle() bool {
	return r.binding.Load() == nil && r.localSubs == 0 && len(r.hops) == 0 &&
		r.tap == nil && r.described.Load() == nil
}

// noteIdle records, after a change to r, whether r is idle, and reclaims
// the routes whose time is up. p.mu is held.
func (p *Plexus) noteIdle(r *route) {
	if !r.idle() {
		if r.idleStamp != 0 {
			r.idleStamp = 0
			p.idleCount--
		}
		return
	}
	now := time.Now()
	if r.idleStamp == 0 {
		p.idleSeq++
		r.idleStamp = p.idleSeq
		p.idleCount++
		p.idleQueue = append(p.idleQueue, idleRoute{r: r, stamp: r.idleStamp, since: now})
	}
	p.reclaimIdle(now)
}

// reclaimIdle forgets the routes that have been idle for the grace, and the
// oldest ones beyond the bound. p.mu is held.
func (p *Plexus) reclaimIdle(now time.Time) {
	for len(p.idleQueue) > 0 {
		e := p.idleQueue[0]
		if e.r.idleStamp == e.stamp {
			if p.idleCount <= maxIdleRoutes && now.Sub(e.since) < routeGrace {
				break
			}
			e.r.idleStamp = 0
			p.idleCount--
			if p.routes.CompareAndDelete(e.r.name, e.r) {
				e.r.reclaimed.Store(true)
			}
		}
		p.idleQueue[0] = idleRoute{}
		p.idleQueue = p.idleQueue[1:]
	}
	// Stale entries of routes used again sit in the queue until they reach
	// its head; compact when they are most of it, so that it stays
	// proportional to the idle routes.
	if len(p.idleQueue) > 2*maxIdleRoutes && len(p.idleQueue) > 4*p.idleCount {
		live := make([]idleRoute, 0, 2*p.idleCount)
		for _, e := range p.idleQueue {
			if e.r.idleStamp == e.stamp {
				live = append(live, e)
			}
		}
		p.idleQueue = live
	}
}
