package plexonats

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/plexo-go/plexo"
)

// A Transport is a [plexo.Transport] over a NATS connection. Create it with
// [New] and attach it to one Plexus; [plexo.Plexus.Close] closes it. It
// never closes the connection.
type Transport struct {
	nc  *nats.Conn
	cfg config

	interestSubject string
	remote          *remoteInterest

	// Test hooks, set by this package's tests before Start.
	// interestPendingLimits, when set, replaces nats.go's default pending
	// limits for the interest exchange's subscription; afterSubscribe, when
	// set, runs between subscribing and watching the subscription's end.
	interestPendingLimits *[2]int
	afterSubscribe        func()

	// subjects caches the subject of each topic name sent, or why it has none.
	subjectsMu sync.RWMutex
	subjects   map[string]subjectEntry

	closed atomic.Bool
	dropMu sync.Mutex // serialises the counting of slow-consumer drops

	mu      sync.Mutex
	host    plexo.Host
	id      uint64
	log     *slog.Logger
	started bool
	closing bool
	ops     []advertiseOp
	syncing bool                     // ops holds a sync request not yet taken by the worker
	subs    map[string]*subscription // by topic; written by the worker only
	ctrl    *subscription            // the interest exchange's; written by the worker only
	// emptySyncs is how many periodic syncs the worker still sends with no
	// subscription left; worker only.
	emptySyncs int
	wake       chan struct{} // capacity 1
	quit       chan struct{}
	done       chan struct{}

	sent, sendErrors, received, plain, echoes, malformed, invalid, dropped atomic.Uint64
}

// An advertiseOp is a change of interest for the worker to carry out (the
// distance the Plexus advertises for a topic, 0 for none), or, with sync
// set, a request to announce every subscription.
type advertiseOp struct {
	topic string
	hops  int
	sync  bool
}

// New returns a transport over nc, which the caller keeps configuring and
// owning: the transport never closes it. It fails on a nil or closed
// connection, or an option value NATS would not accept.
func New(nc *nats.Conn, opts ...Option) (*Transport, error) {
	if nc == nil {
		return nil, errorf("plexonats: new: %w", ErrNilConn)
	}
	if nc.IsClosed() {
		return nil, fmt.Errorf("plexonats: new: %w", plexo.ErrClosed)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, errorf("plexonats: new: %w", err)
	}
	if err := checkPrefix(cfg.prefix); err != nil {
		return nil, errorf("plexonats: new: subject prefix: %w", err)
	}
	if err := checkQueueGroup(cfg.queueGroup); err != nil {
		return nil, errorf("plexonats: new: %w", err)
	}
	for _, topic := range cfg.remoteInterest {
		if err := checkSubject(cfg.prefix + topic); err != nil {
			return nil, errorf("plexonats: new: remote interest %s: %w", topic, err)
		}
	}
	return &Transport{
		nc:              nc,
		cfg:             cfg,
		interestSubject: interestSubject(cfg.prefix),
		remote:          newRemoteInterest(cfg.prefix),
		subjects:        make(map[string]subjectEntry),
		subs:            make(map[string]*subscription),
		wake:            make(chan struct{}, 1),
		quit:            make(chan struct{}),
		done:            make(chan struct{}),
	}, nil
}

// Unfiltered implements [plexo.UnfilteredTransport]: it reports true, as
// NATS routes each message only to the subscriptions that want it.
func (t *Transport) Unfiltered() bool { return true }

// Start implements [plexo.Transport]. It reports the topics of
// [WithRemoteInterest] as wanted one hop away and starts the goroutine that
// subscribes and exchanges interest.
func (t *Transport) Start(h plexo.Host) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closing:
		return fmt.Errorf("plexonats: start: %w", plexo.ErrClosed)
	case t.started:
		return fmt.Errorf("plexonats: start: %w", plexo.ErrAttached)
	}
	t.started = true
	t.host = h
	t.id = h.ID()
	t.log = h.Logger()
	// Report the declared interest without holding t.mu: the Plexus may
	// call Advertise meanwhile.
	t.mu.Unlock()
	t.remote.start(h, t.cfg.remoteInterest)
	t.mu.Lock()
	go t.run()
	return nil
}

// Advertise implements [plexo.Transport]: from its own goroutine, in order,
// the transport subscribes to the topic's subject while hops is above 0, or
// unsubscribes, and tells the other plexonats transports the distance.
func (t *Transport) Advertise(topic string, hops int) {
	if hops < 0 || hops > plexo.MaxHops {
		hops = 0
	}
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return
	}
	t.ops = append(t.ops, advertiseOp{topic: topic, hops: hops})
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Close implements [plexo.Transport]: it unsubscribes, tells the other
// plexonats transports it is gone, and waits for its goroutines and for the
// handlers of its subscriptions to return. The connection stays open.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closing = true
	started := t.started
	t.mu.Unlock()
	t.closed.Store(true)
	if !started {
		close(t.done)
		return nil
	}
	close(t.quit)
	<-t.done
	return nil
}

func (t *Transport) logger() *slog.Logger {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log == nil {
		return slog.Default()
	}
	return t.log
}
