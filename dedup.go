package plexo

import "sync"

// dedupWindow is how many sequence numbers behind the newest one a Plexus
// still recognises per origin. A copy that arrives later than that (by a
// much longer bridge path) is treated as a duplicate and dropped: delivery
// is at most once.
const dedupWindow = 1024

// dedup remembers which (origin, sequence) pairs a Plexus has seen, in a
// sliding bitmap per origin and for a bounded number of origins.
type dedup struct {
	mu      sync.Mutex
	limit   int
	clock   uint64
	origins map[uint64]*originWindow
}

type originWindow struct {
	newest   uint64
	lastUsed uint64
	seen     [dedupWindow / 64]uint64 // bit seq%dedupWindow
}

func newDedup(limit int) *dedup {
	return &dedup{limit: limit, origins: make(map[uint64]*originWindow)}
}

// admit reports whether (origin, seq) is new, and records it.
func (d *dedup) admit(origin, seq uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.admitLocked(origin, seq)
}

// admitBatch is admit for each of msgs, at most 64, with one lock: bit i
// of the result is set when msgs[i] is new and not from self, the origin
// of the messages the caller publishes itself.
func (d *dedup) admitBatch(msgs []Message, self uint64) (admitted uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range msgs {
		if m := &msgs[i]; m.Origin != self && d.admitLocked(m.Origin, m.Sequence) {
			admitted |= 1 << i
		}
	}
	return admitted
}

// admitLocked is admit with d.mu held.
func (d *dedup) admitLocked(origin, seq uint64) bool {
	d.clock++
	w := d.origins[origin]
	if w == nil {
		if len(d.origins) >= d.limit {
			d.evictLeastRecent()
		}
		w = &originWindow{newest: seq}
		d.origins[origin] = w
		w.lastUsed = d.clock
		w.set(seq)
		return true
	}
	w.lastUsed = d.clock
	switch {
	case seq > w.newest:
		if seq-w.newest >= dedupWindow {
			w.seen = [dedupWindow / 64]uint64{}
		} else {
			for s := w.newest + 1; s < seq; s++ {
				w.clear(s)
			}
		}
		w.newest = seq
		w.set(seq)
		return true
	case w.newest-seq >= dedupWindow:
		return false
	case w.has(seq):
		return false
	default:
		w.set(seq)
		return true
	}
}

func (d *dedup) evictLeastRecent() {
	var oldest uint64
	var victim *originWindow
	for id, w := range d.origins {
		if victim == nil || w.lastUsed < victim.lastUsed {
			oldest, victim = id, w
		}
	}
	delete(d.origins, oldest)
}

func (w *originWindow) set(seq uint64) {
	i := seq % dedupWindow
	w.seen[i/64] |= 1 << (i % 64)
}

func (w *originWindow) clear(seq uint64) {
	i := seq % dedupWindow
	w.seen[i/64] &^= 1 << (i % 64)
}

func (w *originWindow) has(seq uint64) bool {
	i := seq % dedupWindow
	return w.seen[i/64]&(1<<(i%64)) != 0
}
