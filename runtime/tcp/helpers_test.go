package tcp_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/tcp"
)

var (
	stringTopic = plexo.NewTopic[*wrapperspb.StringValue]("test.v1.StringValue.proto")
	int64Topic  = plexo.NewTopic[*wrapperspb.Int64Value]("test.v1.Int64Value.proto")
)

// fast keeps the fault tests quick. Its heartbeat timeout is still far
// longer than a loaded machine stalls a goroutine (hundreds of
// milliseconds under the race detector): a shorter one drops healthy
// connections there, in tests that do not expect it. It also sets the
// probe's timeout to its most, a second.
var fast = []tcp.Option{
	tcp.WithHeartbeat(100*time.Millisecond, 2*time.Second),
	tcp.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
	tcp.WithHandshakeTimeout(2 * time.Second),
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPlexus(t *testing.T, opts ...plexo.PlexusOption) *plexo.Plexus {
	t.Helper()
	p := plexo.New(append([]plexo.PlexusOption{plexo.WithLogger(discardLogger()), plexo.WithDescriptorSharing(false)}, opts...)...)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// listen attaches a listener on 127.0.0.1 to p.
func listen(t *testing.T, p *plexo.Plexus, opts ...tcp.Option) *tcp.Transport {
	t.Helper()
	l, err := tcp.Listen(timeout(t), "127.0.0.1:0", append(slices.Clone(fast), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(l); err != nil {
		t.Fatal(err)
	}
	return l
}

// dial attaches to p a dialer connected to l.
func dial(t *testing.T, p *plexo.Plexus, l *tcp.Transport, opts ...tcp.Option) *tcp.Transport {
	t.Helper()
	d, err := tcp.Dial(timeout(t), l.Addr().String(), append(slices.Clone(fast), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(d); err != nil {
		t.Fatal(err)
	}
	return d
}

type collector[T any] = plexotest.Collector[T]

func newCollector[T any]() *collector[T] { return new(collector[T]) }

func subscribeInt64(t *testing.T, p *plexo.Plexus) *collector[int64] {
	t.Helper()
	c := newCollector[int64]()
	if _, err := int64Topic.Subscribe(t.Context(), p, func(_ context.Context, m *wrapperspb.Int64Value) { c.Add(m.Value) }); err != nil {
		t.Fatal(err)
	}
	return c
}

func publish(t *testing.T, p *plexo.Plexus, values ...int64) {
	t.Helper()
	for _, v := range values {
		if err := int64Topic.Publish(t.Context(), p, wrapperspb.Int64(v)); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	waitForInterest = plexotest.WaitForInterest
	eventually      = plexotest.Eventually
)

// quiet reports whether the Plexus values' receive counters stay still for
// a while.
func quiet(ps ...*plexo.Plexus) bool {
	sum := func() (n uint64) {
		for _, p := range ps {
			st := p.Stats()
			n += st.Duplicates
			for _, s := range st.Topics {
				n += s.Received + s.Delivered
			}
		}
		return n
	}
	before := sum()
	time.Sleep(50 * time.Millisecond)
	return sum() == before
}

func seq(from, n int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = from + int64(i)
	}
	return s
}

// helloBytes is a handshake written by hand from PROTOCOL.md.
func helloBytes(version uint16, id uint64, maxFrame uint32) []byte {
	b := []byte("PLXO")
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, id)
	return binary.BigEndian.AppendUint32(b, maxFrame)
}

func frame(kind byte, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(1+len(body))), append([]byte{kind}, body...)...)
}

// A rawPeer speaks the protocol by hand.
type rawPeer struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr net.Addr, handshake bool) *rawPeer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	p := &rawPeer{Conn: c, r: bufio.NewReader(c)}
	if handshake {
		p.write(t, helloBytes(2, 0xfeed, 1<<20))
		var in [20]byte
		if _, err := io.ReadFull(p.r, in[:]); err != nil {
			t.Fatalf("reading the hello: %v", err)
		}
		if string(in[:4]) != "PLXO" || binary.BigEndian.Uint16(in[4:]) != 2 {
			t.Fatalf("hello %x is not plexo version 2", in)
		}
	}
	return p
}

func (p *rawPeer) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := p.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one frame, or fails.
func (p *rawPeer) readFrame() (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(p.r, b); err != nil {
		return 0, nil, err
	}
	return b[0], b[1:], nil
}

// closeReason reads frames until a CLOSE and returns its reason.
func (p *rawPeer) closeReason(t *testing.T) string {
	t.Helper()
	for {
		kind, body, err := p.readFrame()
		if err != nil {
			t.Fatalf("connection ended without a CLOSE frame: %v", err)
		}
		if kind == 0x06 {
			return string(body)
		}
	}
}
