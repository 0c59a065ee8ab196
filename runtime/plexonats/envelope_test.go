package plexonats

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

func FuzzParseEnvelope(f *testing.F) {
	f.Add("1f:1", true)
	f.Add("ffffffffffffffff:18446744073709551615", true)
	f.Add("10000000000000000:1", true)
	f.Add("1:18446744073709551616", true)
	f.Add(":", true)
	f.Add("", true)
	f.Add("zz:1", true)
	f.Add("1:-1", true)
	f.Add("1:", true)
	f.Add(":1", true)
	f.Add("1f", true)
	f.Add("1:2:3", true)
	f.Add("1f:1", false)
	f.Fuzz(func(t *testing.T, id string, has bool) {
		h := nats.Header{"Plexo-Other": {id}}
		if has {
			h[HeaderID] = []string{id}
		}
		o, s, ok, err := parseEnvelope(h)
		switch {
		case !has:
			if ok || err != nil {
				t.Fatalf("no %s header: ok %v, err %v; want a plain message", HeaderID, ok, err)
			}
		case ok:
			if want := trimZeros(strconv.FormatUint(o, 16)) + ":" + strconv.FormatUint(s, 10); canonicalID(id) != want {
				t.Fatalf("parsed %q as (%x, %d)", id, o, s)
			}
		case err == nil:
			t.Fatalf("%q neither parsed nor rejected", id)
		}
	})
}

// FuzzParseID checks the hand-written parser of Plexo-Id values against
// strconv, whose acceptance it must match exactly.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"1f:1", "1F:01", "ffffffffffffffff:18446744073709551615", "0000000000000000001:0",
		"10000000000000000:1", "1:18446744073709551616", "1:99999999999999999999",
		":", "", ":1", "1:", "1", "g:1", "1:a", "1:+1", "+1:1", "0x1:1", "1_0:1", "1:1:1", "1:-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		origin, seq, ok := parseID(s)
		o, q, found := strings.Cut(s, ":")
		wantOrigin, errO := strconv.ParseUint(o, 16, 64)
		wantSeq, errS := strconv.ParseUint(q, 10, 64)
		want := found && errO == nil && errS == nil
		if ok != want || ok && (origin != wantOrigin || seq != wantSeq) {
			t.Fatalf("parseID(%q) = (%x, %d, %v), strconv says (%x, %d, %v)", s, origin, seq, ok, wantOrigin, wantSeq, want)
		}
	})
}

// canonicalID rewrites a parsable id into what the transport sends.
func canonicalID(id string) string {
	o, s, _ := strings.Cut(id, ":")
	return trimZeros(o) + ":" + trimZeros(s)
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
	f.Add("1f", kindAdd, "10000", "", []byte("plexo.a.B.proto 1"))
	f.Add("1f", kindAdd, "10000", "", []byte("plexo.a.B.proto 16"))
	f.Add("1f", kindAdd, "10000", "", []byte("plexo.a.B.proto 17"))
	f.Add("1f", kindAdd, "10000", "", []byte("plexo.a.B.proto"))
	f.Add("1f", kindRemove, "10000", "", []byte("plexo.a.B.proto 0"))
	f.Add("1f", kindRemove, "10000", "", []byte("plexo.a.B.proto 1"))
	f.Add("1f", kindSync, "1", "", []byte("plexo.a.B.proto 3\nplexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", "", []byte("plexo.a.B.proto 3\n\nplexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", "", []byte(" 1"))
	f.Add("1f", kindQuery, "", "", []byte{})
	f.Add("1f", kindBye, "", "", []byte("junk"))
	f.Add("", kindAdd, "0", "", []byte("\n\n"))
	f.Add("1f", "nonsense", "99999999999999999999", "", []byte{0xff})
	f.Add("1f", kindSync, "1", "1/2", []byte("plexo.a.B.proto 3"))
	f.Add("1f", kindSync, "1", "2/2", []byte("plexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", "0/2", []byte("plexo.c.D.proto 1"))
	f.Add("1f", kindSync, "1", "65537/65537", []byte{})
	f.Add("1f", kindAdd, "1", "1/1", []byte("plexo.c.D.proto 1"))
	f.Fuzz(func(t *testing.T, origin, kind, refresh, part string, data []byte) {
		h := nats.Header{HeaderOrigin: {origin}, headerInterest: {kind}, headerRefresh: {refresh}}
		if part != "" {
			h.Set(headerPart, part)
		}
		im, err := parseInterest(h, data)
		if err != nil {
			return
		}
		if im.refresh < 0 || im.refresh > maxRefresh {
			t.Fatalf("refresh %v out of range", im.refresh)
		}
		if im.parts != 0 && (im.kind != kindSync || im.part < 1 || im.part > im.parts || im.parts > maxSyncParts) {
			t.Fatalf("%s part %d/%d out of range", im.kind, im.part, im.parts)
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
		if im.parts != 0 {
			m.Header.Set(headerPart, fmt.Sprintf("%d/%d", im.part, im.parts))
		}
		again, err := parseInterest(m.Header, m.Data)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if again.origin != im.origin || again.kind != im.kind || again.part != im.part || again.parts != im.parts || !slices.Equal(again.entries, im.entries) {
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

func TestOutMsgCarriesItsOriginAndSequence(t *testing.T) {
	for _, tc := range []struct {
		name        string
		origin, seq uint64
	}{
		{"first", 0x1f, 1},
		{"same origin", 0x1f, 1 << 40},
		{"longer origin", 0xffffffffffffffff, 7},
		{"shorter origin", 0xa, 18446744073709551615},
		{"zero", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := getOutMsg("plexo.x", tc.origin, tc.seq, []byte{1})
			defer putOutMsg(o)
			origin, seq, ok, err := parseEnvelope(o.m.Header)
			if !ok || err != nil || origin != tc.origin || seq != tc.seq {
				t.Fatalf("header %v parses as (%x, %d, %v, %v), want (%x, %d)", o.m.Header, origin, seq, ok, err, tc.origin, tc.seq)
			}
			if o.m.Subject != "plexo.x" || len(o.m.Data) != 1 || len(o.m.Header) != 1 {
				t.Fatalf("message %+v", o.m)
			}
		})
	}
}
