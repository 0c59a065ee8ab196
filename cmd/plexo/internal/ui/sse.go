package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/plexo-go/plexo"
)

// events streams a viewer's events: see the package documentation. The
// query parameter topic selects a topic whose messages the viewer gets.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic := q.Get("topic")
	if len(q) > 1 || (len(q) == 1 && !q.Has("topic")) || (q.Has("topic") && !plexo.ValidTopicName(topic)) {
		http.Error(w, "events: the only query parameter is topic, a valid topic name", http.StatusBadRequest)
		return
	}
	if s.life.Err() != nil {
		http.Error(w, errClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	var wt *watch
	if topic != "" {
		var err error
		if wt, err = s.acquire(r.Context(), topic); err != nil {
			http.Error(w, "events: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer s.release(wt)
	}
	s.viewers.Add(1)
	defer s.viewers.Add(-1)
	s.cfg.Logger.Debug("ui: viewer connected", "remote", r.RemoteAddr, "topic", topic)
	defer s.cfg.Logger.Debug("ui: viewer left", "remote", r.RemoteAddr, "topic", topic)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	var buf bytes.Buffer
	send := func(event string, data []byte) bool {
		buf.Reset()
		buf.WriteString("event: ")
		buf.WriteString(event)
		buf.WriteString("\ndata: ")
		buf.Write(data) // JSON has no raw newlines
		buf.WriteString("\n\n")
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	snap := s.snap.Load()
	if !send("topics", snap.topicsJSON()) || !send("tick", snap.tick) || !send("system", snap.system) {
		return
	}
	version, system := snap.version, snap.system
	var msgs <-chan time.Time
	var seq msgState
	if wt != nil {
		t := time.NewTicker(messagesEvery)
		defer t.Stop()
		msgs = t.C
		if !s.sendMessages(r, wt, &seq, send) {
			return
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.life.Done():
			return
		case <-snap.next:
			snap = s.snap.Load()
			if snap.version != version {
				version = snap.version
				if !send("topics", snap.topicsJSON()) {
					return
				}
			}
			if !send("tick", snap.tick) {
				return
			}
			if !bytes.Equal(snap.system, system) {
				system = snap.system
				if !send("system", system) {
					return
				}
			}
		case <-msgs:
			if !s.sendMessages(r, wt, &seq, send) {
				return
			}
		}
	}
}

// messagesEvent is the "messages" event.
type messagesEvent struct {
	Topic    string    `json:"topic"`
	Total    uint64    `json:"total"` // messages the page received on the topic since it was selected
	Messages []decoded `json:"messages"`
}

// msgState is what a viewer was sent of its topic's messages.
type msgState struct {
	seq     uint64 // the newest sent
	started bool   // whether a "messages" event was sent
}

// sendMessages sends the messages of wt newer than those sent, if any; the
// first event goes even when empty.
func (s *Server) sendMessages(r *http.Request, wt *watch, st *msgState, send func(string, []byte) bool) bool {
	es, newest := wt.since(st.seq)
	if len(es) == 0 && st.started {
		return true
	}
	st.seq, st.started = newest, true
	ev := messagesEvent{Topic: wt.topic, Total: newest, Messages: s.decodeAll(r.Context(), wt, es)}
	return send("messages", mustJSON(ev))
}

// mustJSON encodes v, which is one of the server's own event types.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// bytesReader returns a reader of b for http.ServeContent.
func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
