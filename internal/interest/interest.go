package interest

// MaxHops is the farthest, in Plexus hops, that interest in a topic
// travels. It equals plexo.MaxHops (the root package's tests check it); it
// is declared here because the root package imports this one.
const MaxHops = 16

// Clamp returns hops when it is a distance, 1..[MaxHops], and 0 (no
// interest) otherwise. Every report from a peer, a transport or a Plexus is
// clamped once, where it enters.
func Clamp(hops int) int {
	if hops < 1 || hops > MaxHops {
		return 0
	}
	return hops
}

// Through returns the distance a node tells a link whose other links'
// nearest subscriber is other hops away (0 for none), given local, the
// distance of the node's own subscribers (1 for local handlers, what the
// Plexus advertised for a transport, 0 for none): the smaller of local and
// other+1, and 0 beyond [MaxHops].
func Through(local, other int) int {
	local = Clamp(local)
	if other = Clamp(other); other > 0 && (local == 0 || other+1 < local) {
		local = other + 1
	}
	return Clamp(local)
}

// Counts counts, for one topic, how many links report each distance to its
// nearest subscriber. The zero value counts no links. It does not know
// which link reported what: its owner keeps that, and passes a link's
// previous report to [Counts.Move].
type Counts struct {
	at [MaxHops + 1]int32 // links per distance; at[0] is unused
	n  int32              // links reporting some distance
}

// Move records that a link's report changed from old to hops; either may be
// 0 (none), and both are clamped. old must be what the link reported
// before, as recorded by an earlier Move.
func (c *Counts) Move(old, hops int) {
	old, hops = Clamp(old), Clamp(hops)
	if old == hops {
		return
	}
	if old > 0 {
		c.at[old]--
		c.n--
	}
	if hops > 0 {
		c.at[hops]++
		c.n++
	}
}

// Len returns how many links report some distance.
func (c *Counts) Len() int { return int(c.n) }

// Nearest returns the smallest distance any link reports, or 0 when none
// does.
func (c *Counts) Nearest() int {
	if c.n == 0 {
		return 0
	}
	for h := 1; h <= MaxHops; h++ {
		if c.at[h] > 0 {
			return h
		}
	}
	return 0
}

// Horizon reads c once, so that the value told to each of many links costs
// O(1).
func (c *Counts) Horizon() Horizon {
	var z Horizon
	if c.n == 0 {
		return z
	}
	for h := 1; h <= MaxHops; h++ {
		if c.at[h] == 0 {
			continue
		}
		if z.nearest == 0 {
			z.nearest, z.count = h, int(c.at[h])
			if z.count > 1 {
				break // no report can remove the nearest
			}
			continue
		}
		z.next = h
		break
	}
	return z
}

// Advertise returns the distance to tell a link whose own report is own (0
// for none), given local as in [Through].
func (c *Counts) Advertise(local, own int) int { return c.Horizon().Advertise(local, own) }

// A Horizon is what [Counts.Advertise] needs of a [Counts], read once: the
// nearest reported distance, how many links report it, and the next
// distance reported beyond it.
type Horizon struct {
	nearest, count, next int
}

// Nearest returns the smallest distance any link reports, or 0.
func (z Horizon) Nearest() int { return z.nearest }

// Other returns the nearest distance reported by the links other than one
// whose own report is own (0 for none): split horizon.
func (z Horizon) Other(own int) int {
	if Clamp(own) == z.nearest && z.count == 1 {
		return z.next
	}
	return z.nearest
}

// Advertise returns the distance to tell a link whose own report is own,
// given local as in [Through].
func (z Horizon) Advertise(local, own int) int { return Through(local, z.Other(own)) }
