package plexonats

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
	f.Add("1f", kindAdd, "10000", []byte("plexo.a.B.proto"))
	f.Add("1f", kindSync, "1", []byte("plexo.a.B.proto\nplexo.c.D.proto"))
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
		// Whatever parses must be safe to apply.
		ri := newRemoteInterest("plexo.")
		ri.start(nopHost{}, nil)
		ri.apply(im, time.Now())
		ri.expire(time.Now().Add(2 * maxRefresh * 3))
		if n := ri.peerCount(); n != 0 {
			t.Fatalf("%d peers left after expiry", n)
		}
	})
}
