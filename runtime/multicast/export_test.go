package multicast

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast/internal/agree"
	"github.com/plexo-go/plexo/runtime/multicast/internal/frame"
)

// SetDropHook makes t's data readers drop the datagrams for which drop
// returns true, as a lossy network would. Call it before attaching t.
func SetDropHook(t *Transport, drop func(topic, seq uint64, index uint16) bool) { t.dropHook = drop }

// SetJoinHook makes joining a group fail while hook returns an error. Call
// it before attaching t.
func SetJoinHook(t *Transport, hook func() error) { t.joinHook = hook }

// SetPoll sets the longest t's loop sleeps without being woken (default
// 100 ms). Call it before attaching t.
func SetPoll(t *Transport, d time.Duration) { t.poll = d }

// RepairRing returns how many messages of each topic t keeps for repair.
func RepairRing(t *Transport) int { return t.cfg.repair }

// SetSenderCap lowers t's cap on (sender, topic) sequence states. Call it
// before attaching t.
func SetSenderCap(t *Transport, n int) { t.seqCap = n }

// ForgeData returns a one-datagram DATA message of topic as sender would
// send it with sequence number seq (unauthenticated, t's domain), and the
// address it goes to as t sees the topic's group.
func ForgeData(t *Transport, sender uint64, topic string, seq uint64, payload []byte) ([]byte, netip.AddrPort) {
	w := frame.NewWriter(t.cfg.domain, sender, t.cfg.mtu, nil)
	prefix := frame.AppendDataPrefix(nil, topic)
	prefix = binary.LittleEndian.AppendUint64(prefix, sender) // origin
	prefix = binary.LittleEndian.AppendUint64(prefix, seq)
	id := agree.IDOf(topic)
	frames, err := w.Frames(frame.KindData, uint64(id), seq, prefix, payload)
	if err != nil || len(frames) != 1 {
		return nil, netip.AddrPort{}
	}
	addr := netip.MustParseAddr(t.Group(topic))
	return append([]byte(nil), frames[0]...), netip.AddrPortFrom(addr, t.cfg.dataPort)
}

// ReassemblyBytes returns the bytes that t's partial messages hold, over
// all its sockets.
func ReassemblyBytes(t *Transport) int { return t.reasmBudget.Used() }

// ReassemblyLimit returns the bytes t's partial messages may hold.
func ReassemblyLimit(t *Transport) int { return reassemblyBytes(t.cfg.maxMessage) }

// ForgeFirstFragment returns the first datagram of a DATA message of topic,
// of size bytes, as sender would send it with sequence number seq
// (unauthenticated, t's domain), and the address it goes to as t sees the
// topic's group.
func ForgeFirstFragment(t *Transport, sender uint64, topic string, seq uint64, size int) ([]byte, netip.AddrPort) {
	w := frame.NewWriter(t.cfg.domain, sender, t.cfg.mtu, nil)
	prefix := frame.AppendDataPrefix(nil, topic)
	prefix = binary.LittleEndian.AppendUint64(prefix, sender) // origin
	prefix = binary.LittleEndian.AppendUint64(prefix, seq)
	frames, err := w.Frames(frame.KindData, uint64(agree.IDOf(topic)), seq, prefix, make([]byte, size))
	if err != nil || len(frames) < 2 {
		return nil, netip.AddrPort{}
	}
	addr := netip.MustParseAddr(t.Group(topic))
	return append([]byte(nil), frames[0]...), netip.AddrPortFrom(addr, t.cfg.dataPort)
}

// JoinsPending reports whether t has group sockets to open, or is opening
// them.
func JoinsPending(t *Transport) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.groups.toJoin) > 0 || t.groups.joining
}

// Admit takes in datagram b as a reader of one of t's data sockets does, on
// a receiver of its own, and reports whether it completes a message to
// deliver; release stands for the end of that delivery.
func Admit(t *Transport, b []byte) (deliver bool, release func()) {
	r := t.newReceiver()
	var h frame.Header
	var msg plexo.Message
	deliver = r.classifyData(time.Now(), b, &h, &msg) == noDrop
	return deliver, func() {
		r.release()
		r.reasm.Reset()
	}
}
