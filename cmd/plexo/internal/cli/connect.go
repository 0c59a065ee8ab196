package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/plexonats"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// DefaultConnectTimeout bounds connecting to every transport.
const DefaultConnectTimeout = 5 * time.Second

// ConnFlags are the connection flags: each value attaches one transport.
type ConnFlags struct {
	TCPDial   []string
	TCPListen []string
	Multicast []string
	NATS      []string
	// Timeout bounds dialing peers and connecting to NATS.
	Timeout time.Duration
}

// Register adds the connection flags to fs.
func (f *ConnFlags) Register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.TCPDial, "tcp-dial", nil, "dial a plexo TCP peer at `HOST:PORT` (repeatable)")
	fs.StringArrayVar(&f.TCPListen, "tcp-listen", nil, "accept plexo TCP peers on `HOST:PORT` (repeatable)")
	fs.StringArrayVar(&f.Multicast, "multicast", nil, "join plexo multicast on interface `IFACE` (repeatable)")
	fs.StringArrayVar(&f.NATS, "nats", nil, "connect to the NATS server at `URL` (repeatable)")
	fs.DurationVar(&f.Timeout, "connect-timeout", DefaultConnectTimeout, "give up connecting to a peer or NATS server after this long")
}

// Empty reports whether no transport is asked for.
func (f ConnFlags) Empty() bool {
	return len(f.TCPDial)+len(f.TCPListen)+len(f.Multicast)+len(f.NATS) == 0
}

// A Conn is a Plexus with the transports of the connection flags attached.
type Conn struct {
	// Plexus bridges every attached transport.
	Plexus *plexo.Plexus
	// Listeners are the addresses the --tcp-listen transports accept on, in
	// flag order.
	Listeners []net.Addr
	// Attached are the attached transports, in the order of the flags: a
	// *tcp.Transport, *multicast.Transport or *plexonats.Transport each.
	Attached []Attached

	closers []func() error
}

// Attached is one transport of a [Conn] with the flag that attached it.
type Attached struct {
	// Name is the flag and its value, such as "tcp-dial 127.0.0.1:7000".
	Name      string
	Transport plexo.Transport
}

// Close closes the Plexus with its transports, then the NATS connections.
// It is safe to repeat.
func (c *Conn) Close() error {
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = append(errs, c.closers[i]())
	}
	c.closers = nil
	return errors.Join(errs...)
}

// Connect builds a Plexus and attaches the transports of f, each within
// f.Timeout: an unreachable peer or a NATS server that refuses is an error
// naming it. logger (nil: none) receives the Plexus's and transports' logs.
func Connect(ctx context.Context, f ConnFlags, logger *slog.Logger, opts ...plexo.PlexusOption) (*Conn, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	p := plexo.New(append([]plexo.PlexusOption{plexo.WithLogger(logger)}, opts...)...)
	c := &Conn{Plexus: p}
	c.closers = append(c.closers, p.Close)
	fail := func(err error) (*Conn, error) {
		_ = c.Close()
		return nil, err
	}
	for _, addr := range f.TCPListen {
		t, err := tcp.Listen(ctx, addr)
		if err != nil {
			return fail(err)
		}
		c.Listeners = append(c.Listeners, t.Addr())
		if err := p.Attach(t); err != nil {
			t.Close()
			return fail(fmt.Errorf("tcp-listen %s: %w", addr, err))
		}
		c.Attached = append(c.Attached, Attached{"tcp-listen " + t.Addr().String(), t})
	}
	for _, addr := range f.TCPDial {
		t, err := tcp.Dial(ctx, addr)
		if err != nil {
			return fail(fmt.Errorf("tcp-dial %s: %w", addr, err))
		}
		if err := p.Attach(t); err != nil {
			t.Close()
			return fail(fmt.Errorf("tcp-dial %s: %w", addr, err))
		}
		// Dial connects in the background; a command needs its peer now.
		dctx, cancel := context.WithTimeout(ctx, timeout)
		err = t.WaitConnected(dctx)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("cannot reach %s within %v: %w", addr, timeout, err))
		}
		c.Attached = append(c.Attached, Attached{"tcp-dial " + addr, t})
	}
	for _, iface := range f.Multicast {
		t, err := multicast.New(ctx, multicast.WithInterface(iface))
		if err != nil {
			return fail(fmt.Errorf("multicast on %s: %w", iface, err))
		}
		if err := p.Attach(t); err != nil {
			t.Close()
			return fail(fmt.Errorf("multicast on %s: %w", iface, err))
		}
		c.Attached = append(c.Attached, Attached{"multicast " + iface, t})
	}
	for _, url := range f.NATS {
		nc, err := nats.Connect(url, nats.Name("plexo"), nats.Timeout(timeout), nats.MaxReconnects(-1))
		if err != nil {
			return fail(fmt.Errorf("nats %s: %w", url, err))
		}
		t, err := plexonats.New(nc)
		if err != nil {
			nc.Close()
			return fail(fmt.Errorf("nats %s: %w", url, err))
		}
		// Closed after the Plexus (closers run in reverse).
		c.closers = append([]func() error{func() error { nc.Close(); return nil }}, c.closers...)
		if err := p.Attach(t); err != nil {
			t.Close()
			return fail(fmt.Errorf("nats %s: %w", url, err))
		}
		c.Attached = append(c.Attached, Attached{"nats " + redactURL(url), t})
	}
	return c, nil
}

// connect is Connect with the logger the --verbose flag asks for.
func (st *state) connect(ctx context.Context) (*Conn, error) {
	return Connect(ctx, st.conn, st.logger())
}

// logger returns a logger to stderr at debug level with --verbose, and at
// least level otherwise; nil logs nothing (stderr stays one line on failure).
func (st *state) logger(least ...slog.Level) *slog.Logger {
	level := slog.LevelDebug
	switch {
	case st.verbose:
	case len(least) > 0:
		level = least[0]
	default:
		return nil
	}
	return slog.New(slog.NewTextHandler(st.Err, &slog.HandlerOptions{Level: level}))
}

// redactURL hides the password of a URL, as in logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
