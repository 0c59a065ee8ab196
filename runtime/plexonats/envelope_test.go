package plexonats

import (
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

func FuzzParseEnvelope(f *testing.F) {
	f.Add("1f", "1", true, true)
	f.Add("ffffffffffffffff", "18446744073709551615", true, true)
	f.Add("", "", true, true)
	f.Add("zz", "1", true, true)
	f.Add("1", "-1", true, true)
	f.Add("1", "", true, false)
	f.Add("", "1", false, true)
	f.Fuzz(func(t *testing.T, origin, seq string, hasOrigin, hasSeq bool) {
		h := nats.Header{}
		if hasOrigin {
			h[HeaderOrigin] = []string{origin}
		}
		if hasSeq {
			h[HeaderSequence] = []string{seq}
		}
		o, s, ok, err := parseEnvelope(h)
		switch {
		case !hasOrigin && !hasSeq:
			if ok || err != nil {
				t.Fatalf("no headers: ok %v, err %v; want a plain message", ok, err)
			}
		case ok:
			if strconv.FormatUint(o, 16) != trimZeros(origin) || strconv.FormatUint(s, 10) != trimZeros(seq) {
				t.Fatalf("parsed (%q, %q) as (%x, %d)", origin, seq, o, s)
			}
		case err == nil:
			t.Fatalf("(%q, %q) neither parsed nor rejected", origin, seq)
		}
	})
}

// trimZeros strips what ParseUint accepts but Format does not produce.
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'F' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func FuzzParseInterest(f *testing.F) {
	f.Add("1f", kindAdd, "10000", []byte("plexo.a.B.proto 1"))
	f.Add("1f", kindAdd, "10000", []byte("plexo.a.B.proto 16"))
	f.Add("1f", kindAdd, "10000", []byte("plexo.a.B.proto 17"))
	f.Add("1f", kindAdd, "10000", []byte("plexo.a.B.proto"))
	f.Add("1f", kindRemove, "10000", []byte("plexo.a.B.proto 0"))
	f.Add("1f", kindRemove, "10000", []byte("plexo.a.B.proto 1"))
	f.Add("1f", kindSync, "1", []byte("plexo.a.B.proto 3\nplexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", []byte("plexo.a.B.proto 3\n\nplexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", []byte(" 1"))
	f.Add("1f", kindQuery, "", []byte{})
	f.Add("1f", kindBye, "", []byte("junk"))
	f.Add("", kindAdd, "0", []byte("\n\n"))
	f.Add("1f", "nonsense", "99999999999999999999", []byte{0xff})
	f.Fuzz(func(t *testing.T, origin, kind, refresh string, data []byte) {
		h := nats.Header{HeaderOrigin: {origin}, headerInterest: {kind}, headerRefresh: {refresh}}
		im, err := parseInterest(h, data)
		if err != nil {
			return
		}
		if im.refresh < 0 || im.refresh > maxRefresh {
			t.Fatalf("refresh %v out of range", im.refresh)
		}
		for _, e := range im.entries {
			lo, hi := 1, plexo.MaxHops
			if im.kind == kindRemove {
				lo, hi = 0, 0
			}
			if e.hops < lo || e.hops > hi {
				t.Fatalf("%s entry %q at %d hops, want %d..%d", im.kind, e.subject, e.hops, lo, hi)
			}
		}
		// What parses encodes back to what parses the same.
		m := newInterestMsg("x", im.origin, im.kind, im.refresh, im.entries)
		again, err := parseInterest(m.Header, m.Data)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if again.origin != im.origin || again.kind != im.kind || !slices.Equal(again.entries, im.entries) {
			t.Fatalf("round trip changed %+v into %+v", im, again)
		}
		// Whatever parses must be safe to apply, and the host hears only
		// distances in range.
		ri := newRemoteInterest("plexo.")
		ri.start(checkHost{t}, nil)
		ri.apply(im, time.Now())
		ri.expire(time.Now().Add(2 * maxRefresh * 3))
		if n := ri.peerCount(); n != 0 {
			t.Fatalf("%d peers left after expiry", n)
		}
	})
}

// checkHost is a plexo.Host that fails the test on a distance out of range.
type checkHost struct{ t *testing.T }

func (checkHost) Deliver(*plexo.Message) {}
func (checkHost) Logger() *slog.Logger   { return nopHost{}.Logger() }
func (checkHost) ID() uint64             { return 1 }
func (h checkHost) SetInterest(topic string, hops int) {
	if hops < 0 || hops > plexo.MaxHops {
		h.t.Fatalf("SetInterest(%q, %d): out of range", topic, hops)
	}
}
