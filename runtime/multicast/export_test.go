package multicast

// SetDropHook makes t's data readers drop the datagrams for which drop
// returns true, as a lossy network would. Call it before attaching t.
func SetDropHook(t *Transport, drop func(topic, seq uint64, index uint16) bool) { t.dropHook = drop }
