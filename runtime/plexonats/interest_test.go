package plexonats

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

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
