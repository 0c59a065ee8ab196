package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexo-go/plexo"
)

//go:embed assets
var assets embed.FS

// A Transport is one transport the page shows in its System panel.
type Transport struct {
	// Name says which flag attached it, such as "tcp-dial 127.0.0.1:7000".
	Name string
	// Transport is a *tcp.Transport, *multicast.Transport or
	// *plexonats.Transport; another type shows with its name only.
	Transport plexo.Transport
}

// Config configures a [Server]. Zero values mean the documented defaults.
type Config struct {
	// Transports are the transports attached to the Plexus, for the System
	// panel.
	Transports []Transport
	// AllowPublish enables POST /api/publish and the page's editor.
	AllowPublish bool
	// Metrics, when not nil, is served on GET /metrics.
	Metrics http.Handler
	// Logger receives the server's own events; nil logs nothing.
	Logger *slog.Logger
	// Interval is the sampling period; the default is a second. Rates are
	// per second whatever it is.
	Interval time.Duration
}

// Limits of what the server holds and sends.
const (
	// ringLen is how many of the selected topic's newest messages are kept.
	ringLen = 50
	// maxBody bounds a publish request's body.
	maxBody = 1 << 20
	// messagesEvery is how often a viewer of a topic gets its new messages.
	messagesEvery = 250 * time.Millisecond
	// writeTimeout bounds each write to a viewer; a stuck one is dropped.
	writeTimeout = 10 * time.Second
	// resolveTimeout bounds waiting for a topic's descriptor.
	resolveTimeout = 3 * time.Second
	// maxGroups bounds the multicast groups listed per transport.
	maxGroups = 256
)

// A Server samples a Plexus's topics and serves the page. Close it to stop.
type Server struct {
	cfg  Config
	p    *plexo.Plexus
	self string
	dir  *plexo.Directory
	ns   *plexo.NamespaceSubscription
	ctrs *counters
	mux  *http.ServeMux

	snap    atomic.Pointer[snapshot]
	viewers atomic.Int64

	mu      sync.Mutex
	hist    map[string]*history
	uiErrs  map[string]uint64 // decode errors of the page's own decoding, by topic
	watches map[string]*watch
	list    []plexo.TopicInfo

	life   context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New starts sampling p: it follows p's directory and subscribes raw, and
// inline, to every topic in it to count its messages.
func New(ctx context.Context, p *plexo.Plexus, cfg Config) (*Server, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir, err := p.WatchDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		p:       p,
		self:    originString(p.ID()),
		dir:     dir,
		ctrs:    newCounters(),
		hist:    make(map[string]*history),
		uiErrs:  make(map[string]uint64),
		watches: make(map[string]*watch),
		done:    make(chan struct{}),
	}
	s.ns, err = p.SubscribeNamespace(ctx, "", s.ctrs.count, plexo.WithInline())
	if err != nil {
		_ = dir.Close()
		return nil, fmt.Errorf("ui: %w", err)
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	s.mux = s.routes()
	changed := dir.Changed()
	s.sample(time.Now(), true, true, 0)
	go s.run(changed)
	return s, nil
}

// Close stops sampling, ends every viewer's stream and closes the
// subscriptions. It is safe to repeat.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
		_ = s.ns.Close()
		_ = s.dir.Close()
		s.mu.Lock()
		ws := s.watches
		s.watches = map[string]*watch{}
		s.mu.Unlock()
		for _, w := range ws {
			_ = w.sub.Close()
		}
	})
	return nil
}

// ServeHTTP serves the page, its event stream and its API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.static("assets/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", s.static("assets/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", s.static("assets/app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /api/template", s.template)
	mux.HandleFunc("POST /api/publish", s.publish)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	return mux
}

// static serves an embedded file.
func (s *Server) static(name, contentType string) http.HandlerFunc {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // the embedded files are fixed at build time
	}
	started := time.Now()
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" && name != "assets/index.html" {
			http.Error(w, "no query expected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, started, bytesReader(b))
	}
}

// run samples every interval and when the directory changes, until Close.
func (s *Server) run(changed <-chan struct{}) {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	dirty := false
	last := time.Now()
	for n := 1; ; n++ {
		select {
		case <-s.life.Done():
			return
		case <-changed:
			changed = s.dir.Changed()
			dirty = true
			n--
			continue
		case now := <-tick.C:
			secs := now.Sub(last).Seconds()
			last = now
			s.sample(now, dirty, n%2 == 0, secs)
			dirty = false
		}
	}
}

// sample reads the counters into the histories and publishes a snapshot.
// With relist it reads the directory's topics again; with system it reads
// the transports' counters. secs is the time since the last sample (0 for
// the first, which records no rate).
func (s *Server) sample(now time.Time, relist, system bool, secs float64) {
	old := s.snap.Load()
	next := &snapshot{next: make(chan struct{})}
	if old != nil {
		next.version, next.system = old.version, old.system
	}
	st := s.p.Stats()
	s.mu.Lock()
	if relist || old == nil {
		var list []plexo.TopicInfo
		keep := make(map[string]bool)
		for _, ti := range s.dir.Topics() {
			if len(ti.Publishers) == 0 && others(ti.Subscribers, s.p.ID()) == 0 {
				continue // only the page's own subscriptions keep it listed
			}
			list = append(list, ti)
			keep[ti.Topic] = true
		}
		if old == nil || !s.sameList(list) {
			next.version++
		}
		s.list = list
		for topic := range s.hist {
			if !keep[topic] {
				delete(s.hist, topic)
				delete(s.uiErrs, topic)
			}
		}
		s.ctrs.keep(keep)
	}
	tick := tickEvent{Version: next.version, Time: now.UnixMilli(), Rows: [][5]float64{}}
	rows := make([]topicRow, len(s.list))
	for i, ti := range s.list {
		h := s.hist[ti.Topic]
		ctr := s.ctrs.get(ti.Topic)
		if h == nil {
			h = new(history)
			if ctr != nil {
				h.lastMsgs, h.lastBytes = ctr.msgs.Load(), ctr.bytes.Load()
			}
			s.hist[ti.Topic] = h
		} else if secs > 0 {
			var msgs, bytes uint64
			if ctr != nil {
				msgs, bytes = ctr.msgs.Load(), ctr.bytes.Load()
			}
			h.push(msgs, bytes, secs)
		}
		ts := st.Topics[ti.Topic]
		h.dropped, h.decodeErrs = ts.Dropped, ts.DecodeErrors+s.uiErrs[ti.Topic]
		rate := h.rates[historyLen-1]
		if rate != 0 || h.bytesRate != 0 || h.dropped != 0 || h.decodeErrs != 0 {
			tick.Rows = append(tick.Rows, [5]float64{float64(i), rate, h.bytesRate, float64(h.dropped), float64(h.decodeErrs)})
		}
		rows[i] = topicRow{
			Topic:       ti.Topic,
			Message:     string(ti.Message),
			Codec:       ti.Codec,
			Publishers:  len(ti.Publishers),
			Subscribers: others(ti.Subscribers, s.p.ID()),
			History:     append([]float64(nil), h.rates[:]...),
			BytesRate:   h.bytesRate,
			Dropped:     h.dropped,
			DecodeErrs:  h.decodeErrs,
		}
	}
	var groupTopics []string
	if system || old == nil {
		for _, ti := range s.list {
			if len(groupTopics) == maxGroups {
				break
			}
			groupTopics = append(groupTopics, ti.Topic)
		}
	}
	s.mu.Unlock()
	next.topicsEv = &topicsEvent{Version: next.version, Publish: s.cfg.AllowPublish, Self: s.self, Topics: rows}
	next.tick = mustJSON(tick)
	if system || old == nil {
		next.system = mustJSON(s.systemView(st, groupTopics))
	}
	s.snap.Store(next)
	if old != nil {
		close(old.next)
	}
}

// sameList reports whether list shows the same as s.list: the directory
// announces again what it already knows. s.mu held.
func (s *Server) sameList(list []plexo.TopicInfo) bool {
	return slices.EqualFunc(list, s.list, func(a, b plexo.TopicInfo) bool {
		return a.Topic == b.Topic && a.Message == b.Message && a.Codec == b.Codec &&
			len(a.Publishers) == len(b.Publishers) &&
			others(a.Subscribers, s.p.ID()) == others(b.Subscribers, s.p.ID())
	})
}

// topicsJSON returns the snapshot's "topics" event, encoding it once.
func (sn *snapshot) topicsJSON() []byte {
	sn.topicsOnce.Do(func() { sn.topics = mustJSON(sn.topicsEv) })
	return sn.topics
}

// others counts the IDs in ids other than self.
func others(ids []uint64, self uint64) int {
	n := 0
	for _, id := range ids {
		if id != self {
			n++
		}
	}
	return n
}

// originString formats a Plexus ID as plexo's logs and tools do.
func originString(id uint64) string {
	s := strconv.FormatUint(id, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}

// errClosed ends a viewer's stream when the server closes.
var errClosed = errors.New("ui: server closed")
