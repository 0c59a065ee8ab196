package plexonats

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// recordHost is a plexo.Host that records what SetInterest reports.
type recordHost struct{ reports []string }

func (*recordHost) Deliver(*plexo.Message) {}
func (*recordHost) Logger() *slog.Logger   { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (*recordHost) ID() uint64             { return 1 }
func (h *recordHost) SetInterest(topic string, hops int) {
	h.reports = append(h.reports, fmt.Sprintf("%s=%d", topic, hops))
}

func TestRemoteInterestReportsNearestPeer(t *testing.T) {
	const refresh = time.Second
	msg := func(origin uint64, kind string, entries ...interestEntry) interestMsg {
		return interestMsg{origin: origin, kind: kind, refresh: refresh, entries: entries}
	}
	at := func(topic string, hops int) interestEntry { return interestEntry{"plexo." + topic, hops} }
	for _, tc := range []struct {
		name     string
		declared []string
		msgs     []interestMsg
		want     []string
		anyOrder bool // a sync reports its topics in map order
	}{
		{
			name: "one peer's distance is reported as is",
			msgs: []interestMsg{msg(7, kindAdd, at("T", 3))},
			want: []string{"T=3"},
		},
		{
			name: "a peer's distance changes",
			msgs: []interestMsg{msg(7, kindAdd, at("T", 3)), msg(7, kindAdd, at("T", 5)), msg(7, kindAdd, at("T", 5))},
			want: []string{"T=3", "T=5"},
		},
		{
			name: "the nearest of several peers",
			msgs: []interestMsg{
				msg(7, kindAdd, at("T", 3)),
				msg(8, kindAdd, at("T", 2)), // nearer
				msg(9, kindAdd, at("T", 4)), // farther: no change
				msg(8, kindRemove, at("T", 0)),
				msg(7, kindBye),
				msg(9, kindSync),
			},
			want: []string{"T=3", "T=2", "T=3", "T=4", "T=0"},
		},
		{
			name: "sync replaces what a peer wants",
			msgs: []interestMsg{
				msg(7, kindSync, at("T", 1), at("U", 2)),
				msg(7, kindSync, at("U", 4), at("V", 1)),
			},
			want:     []string{"T=1", "U=2", "T=0", "U=4", "V=1"},
			anyOrder: true,
		},
		{
			name:     "a declared topic is one hop away whatever peers say",
			declared: []string{"T"},
			msgs:     []interestMsg{msg(7, kindAdd, at("T", 3)), msg(7, kindRemove, at("T", 0))},
			want:     []string{"T=1"},
		},
		{
			name: "other prefixes are ignored",
			msgs: []interestMsg{msg(7, kindAdd, interestEntry{"other.T", 1})},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordHost{}
			ri := newRemoteInterest("plexo.")
			ri.start(h, tc.declared)
			now := time.Now()
			for _, im := range tc.msgs {
				ri.apply(im, now)
			}
			got := h.reports
			if tc.anyOrder {
				got, tc.want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tc.want))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("reports %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRemoteInterestExpiresSilentPeers(t *testing.T) {
	h := &recordHost{}
	ri := newRemoteInterest("plexo.")
	ri.start(h, nil)
	now := time.Now()
	ri.apply(interestMsg{origin: 7, kind: kindAdd, refresh: time.Second, entries: []interestEntry{{"plexo.T", 2}}}, now)
	ri.apply(interestMsg{origin: 8, kind: kindAdd, refresh: time.Hour, entries: []interestEntry{{"plexo.T", 5}}}, now)
	ri.expire(now.Add(time.Minute)) // 7 is silent for more than three of its intervals
	if want := []string{"T=2", "T=5"}; !slices.Equal(h.reports, want) {
		t.Errorf("reports %q, want %q", h.reports, want)
	}
	if n := ri.peerCount(); n != 1 {
		t.Errorf("%d peers left, want 1", n)
	}
}

// rawHost is a plexo.Host that keeps the topic strings SetInterest hands it.
type rawHost struct{ wanted map[string]int }

func (*rawHost) Deliver(*plexo.Message) {}
func (*rawHost) Logger() *slog.Logger   { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (*rawHost) ID() uint64             { return 1 }
func (h *rawHost) SetInterest(topic string, hops int) {
	if hops == 0 {
		delete(h.wanted, topic)
	} else {
		h.wanted[topic] = hops
	}
}

// Any client allowed to publish on the exchange's subject can forge
// announcements under as many origins, for as many topics, as it likes:
// what the transport remembers, and reports to its Plexus (which keeps a
// route per topic), stays bounded, and garbage subjects are not reported.
func TestRemoteInterestBoundsForgedAnnouncements(t *testing.T) {
	h := &rawHost{wanted: make(map[string]int)}
	ri := newRemoteInterest("plexo.")
	ri.start(h, nil)
	now := time.Now()
	add := func(origin uint64, subjects ...string) {
		im := interestMsg{origin: origin, kind: kindAdd, refresh: maxRefresh}
		for _, s := range subjects {
			im.entries = append(im.entries, interestEntry{s, 1})
		}
		ri.apply(im, now)
	}

	add(1, "plexo.>", "plexo.a.*", "plexo.a b", "plexo.a..b", "plexo.a.")
	if len(h.wanted) != 0 {
		t.Errorf("invalid subjects reported as wanted: %v", h.wanted)
	}

	// A few peers with far more topics than the bounds.
	many := make([]string, 0, maxInterestTopics+100)
	for i := range cap(many) {
		many = append(many, fmt.Sprintf("plexo.topic%d", i))
	}
	for origin := range uint64(maxInterestEntries/maxInterestTopics + 2) {
		add(10+origin, many...)
	}
	if n := len(h.wanted); n > maxInterestTopics {
		t.Errorf("%d topics reported as wanted, want at most %d", n, maxInterestTopics)
	}
	if ri.entries > maxInterestEntries {
		t.Errorf("%d (peer, topic) pairs remembered, want at most %d", ri.entries, maxInterestEntries)
	}
	n := 0
	for _, p := range ri.peers {
		n += len(p.topics)
	}
	if n != ri.entries {
		t.Errorf("peers hold %d (peer, topic) pairs, counted %d", n, ri.entries)
	}
	// Far more peers than the bound.
	for i := range maxInterestPeers + 100 {
		add(uint64(100+i), many[i%len(many)])
	}
	if n := ri.peerCount(); n > maxInterestPeers {
		t.Errorf("%d peers remembered, want at most %d", n, maxInterestPeers)
	}

	// Once the peers are gone, so is what they pinned.
	for origin := range ri.peers {
		ri.apply(interestMsg{origin: origin, kind: kindBye}, now)
	}
	if len(h.wanted) != 0 || len(ri.topics) != 0 || ri.entries != 0 || ri.peerCount() != 0 {
		t.Errorf("after every peer's bye: %d topics wanted, %d remembered, %d pairs, %d peers",
			len(h.wanted), len(ri.topics), ri.entries, ri.peerCount())
	}
}

// The topic names parsed from an interest message point into its data: the
// names kept, here and by the Plexus, must be strings of their own, or a
// one-byte topic could pin a message-sized buffer for as long as it is
// wanted.
func TestRemoteInterestDoesNotPinMessageData(t *testing.T) {
	h := &rawHost{wanted: make(map[string]int)}
	ri := newRemoteInterest("plexo.")
	ri.start(h, nil)
	data := "plexo.T 1\n" + strings.Repeat("x", 1<<20)
	im, err := parseInterest(nats.Header{HeaderOrigin: {"7"}, headerInterest: {kindAdd}, headerRefresh: {"1000"}}, []byte(data[:len("plexo.T 1")]))
	if err != nil {
		t.Fatal(err)
	}
	im.entries[0].subject = data[:len("plexo.T")] // as parsed from a large message
	ri.apply(im, time.Now())
	within := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		base := uintptr(unsafe.Pointer(unsafe.StringData(data)))
		return p >= base && p < base+uintptr(len(data))
	}
	for topic := range h.wanted {
		if within(topic) {
			t.Error("the topic reported to the Plexus points into the message's data")
		}
	}
	for topic := range ri.reported {
		if within(topic) {
			t.Error("a topic remembered points into the message's data")
		}
	}
	for topic := range ri.peers[7].topics {
		if within(topic) {
			t.Error("a peer's topic points into the message's data")
		}
	}
}
