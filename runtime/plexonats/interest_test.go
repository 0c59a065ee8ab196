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

// TestInterestMsgsFitMaxPayload checks that an announcement too large for
// the server's maximum payload is split into messages that each fit it,
// headers included, that parse back to the entries in order, and that a
// sync's parts are numbered; an entry too long for any message is left out.
func TestInterestMsgsFitMaxPayload(t *testing.T) {
	var entries []interestEntry
	for i := range 300 {
		entries = append(entries, interestEntry{fmt.Sprintf("plexo.%s.T%d.proto", strings.Repeat("x", i%90), i), 1 + i%plexo.MaxHops})
	}
	tooLong := interestEntry{"plexo." + strings.Repeat("y", 5000) + ".proto", 1}
	for _, kind := range []string{kindAdd, kindRemove, kindSync} {
		for _, maxPayload := range []int{400, 1024, 4096, 1 << 20} {
			t.Run(fmt.Sprintf("%s in %d bytes", kind, maxPayload), func(t *testing.T) {
				in := slices.Insert(slices.Clone(entries), 10, tooLong)
				long := tooLong
				if kind == kindRemove {
					for i := range in {
						in[i].hops = 0
					}
					long.hops = 0
				}
				msgs, skipped := newInterestMsgs("_PLEXO.INTEREST.plexo", 0xfeed, kind, 5*time.Second, in, maxPayload)
				wantSkipped := 0
				if len(tooLong.subject) > maxPayload {
					wantSkipped = 1
				}
				if len(skipped) != wantSkipped {
					t.Fatalf("%d entries skipped, want %d", len(skipped), wantSkipped)
				}
				if maxPayload < 1<<20 && len(msgs) < 2 {
					t.Fatalf("%d messages, want several", len(msgs))
				}
				var got []interestEntry
				for i, m := range msgs {
					if size := headerSize(m.Header) + len(m.Data); size > maxPayload {
						t.Fatalf("message %d: %d bytes, over %d", i, size, maxPayload)
					}
					im, err := parseInterest(m.Header, m.Data)
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if im.kind != kind || im.origin != 0xfeed {
						t.Fatalf("message %d: kind %q origin %x", i, im.kind, im.origin)
					}
					wantPart, wantParts := i+1, len(msgs)
					if kind != kindSync || len(msgs) == 1 {
						wantPart, wantParts = 0, 0
					}
					if im.part != wantPart || im.parts != wantParts {
						t.Fatalf("message %d: part %d/%d, want %d/%d", i, im.part, im.parts, wantPart, wantParts)
					}
					for _, e := range im.entries {
						got = append(got, interestEntry{strings.Clone(e.subject), e.hops})
					}
				}
				want := slices.DeleteFunc(slices.Clone(in), func(e interestEntry) bool { return len(skipped) > 0 && e == long })
				if !slices.Equal(got, want) {
					t.Fatalf("the messages list %d entries, want the %d given", len(got), len(want))
				}
			})
		}
	}
}

// TestSyncPartsForgetWhenComplete checks that a sync in parts adds what
// each part lists at once and forgets what it leaves out only when its last
// part comes after all the others; a lost part forgets nothing.
func TestSyncPartsForgetWhenComplete(t *testing.T) {
	h := &recordHost{}
	ri := newRemoteInterest("plexo.")
	ri.start(h, nil)
	at := func(topic string, hops int) interestEntry { return interestEntry{"plexo." + topic, hops} }
	part := func(i, n int, entries ...interestEntry) interestMsg {
		return interestMsg{origin: 7, kind: kindSync, refresh: time.Second, entries: entries, part: i, parts: n}
	}
	now := time.Now()
	ri.apply(interestMsg{origin: 7, kind: kindAdd, refresh: time.Second, entries: []interestEntry{at("T", 1), at("U", 1), at("V", 1), at("W", 1)}}, now)
	ri.apply(part(1, 2, at("T", 1), at("U", 3)), now)
	if want := []string{"T=1", "U=1", "V=1", "W=1", "U=3"}; !slices.Equal(h.reports, want) {
		t.Fatalf("after part 1 of 2: %v, want %v", h.reports, want)
	}
	ri.apply(part(2, 2, at("V", 1)), now)
	if want := []string{"T=1", "U=1", "V=1", "W=1", "U=3", "W=0"}; !slices.Equal(h.reports, want) {
		t.Fatalf("after part 2 of 2: %v, want %v", h.reports, want)
	}
	h.reports = nil
	ri.apply(part(1, 3, at("T", 1)), now)
	ri.apply(part(3, 3, at("X", 2)), now) // part 2 lost
	if want := []string{"X=2"}; !slices.Equal(h.reports, want) {
		t.Fatalf("with part 2 of 3 lost: %v, want %v (nothing forgotten)", h.reports, want)
	}
	h.reports = nil
	ri.apply(part(2, 2, at("T", 1)), now) // a part 2 with no part 1
	if len(h.reports) != 0 {
		t.Fatalf("a part out of sequence: %v, want nothing forgotten", h.reports)
	}
	ri.apply(interestMsg{origin: 7, kind: kindSync, refresh: time.Second, entries: []interestEntry{at("T", 1)}}, now)
	if want := []string{"U=0", "V=0", "X=0"}; !slices.Equal(h.reports, want) {
		t.Fatalf("a whole sync after broken parts: %v, want %v", h.reports, want)
	}
}

// TestParsePartHeader checks that a part number is accepted only on a sync
// and only as i/n with 1 ≤ i ≤ n ≤ maxSyncParts.
func TestParsePartHeader(t *testing.T) {
	for _, c := range []struct {
		kind, part string
		ok         bool
	}{
		{kindSync, "1/1", true},
		{kindSync, "3/7", true},
		{kindSync, "65536/65536", true},
		{kindSync, "0/2", false},
		{kindSync, "3/2", false},
		{kindSync, "1/0", false},
		{kindSync, "1/65537", false},
		{kindSync, "1", false},
		{kindSync, "a/b", false},
		{kindSync, "-1/2", false},
		{kindAdd, "1/2", false},
		{kindRemove, "1/2", false},
	} {
		m := newInterestMsg("_PLEXO.INTEREST.plexo", 9, c.kind, time.Second, nil)
		m.Header.Set(headerPart, c.part)
		if _, err := parseInterest(m.Header, m.Data); (err == nil) != c.ok {
			t.Errorf("%s with part %q: error %v, want ok=%v", c.kind, c.part, err, c.ok)
		}
	}
}
