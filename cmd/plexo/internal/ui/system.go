package ui

import (
	"reflect"
	"strings"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/plexonats"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// systemEvent is the "system" event.
type systemEvent struct {
	Self       string          `json:"self"`
	Plexus     []stat          `json:"plexus"`
	Transports []transportView `json:"transports"`
	Viewers    int64           `json:"viewers"`
	Watched    int             `json:"watched"`
}

// stat is one named counter; Bad marks one whose growth means trouble.
type stat struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Bad   bool    `json:"bad,omitempty"`
}

// transportView is one transport in the System panel.
type transportView struct {
	Name      string      `json:"name"`
	Kind      string      `json:"kind"`
	Stats     []stat      `json:"stats"`
	Peers     []peerView  `json:"peers,omitempty"`
	Groups    []groupView `json:"groups,omitempty"`
	LastError string      `json:"lastError,omitempty"`
}

// peerView is a tcp peer.
type peerView struct {
	ID            string `json:"id"`
	Address       string `json:"address"`
	State         string `json:"state"`
	Sent          uint64 `json:"sent"`
	Received      uint64 `json:"received"`
	BytesSent     uint64 `json:"bytesSent"`
	BytesReceived uint64 `json:"bytesReceived"`
	Dropped       uint64 `json:"dropped"`
	Queued        int    `json:"queued"`
	Topics        int    `json:"topics"`
}

// groupView is the multicast group agreed for a topic.
type groupView struct {
	Topic string `json:"topic"`
	Group string `json:"group"`
}

// systemView reads the transports' counters; topics are those whose
// multicast groups to list.
func (s *Server) systemView(st plexo.Stats, topics []string) systemEvent {
	ev := systemEvent{
		Self: s.self,
		Plexus: []stat{
			{Name: "Duplicates", Value: float64(st.Duplicates)},
			{Name: "Unrouted", Value: float64(st.Unrouted)},
			{Name: "TransportErrors", Value: float64(st.TransportErrors), Bad: true},
			{Name: "DirectoryRejected", Value: float64(st.DirectoryRejected), Bad: true},
		},
		Transports: []transportView{},
		Viewers:    s.viewers.Load(),
		Watched:    s.watched(),
	}
	for _, t := range s.cfg.Transports {
		tv := transportView{Name: t.Name}
		switch t := t.Transport.(type) {
		case *tcp.Transport:
			ts := t.Stats()
			tv.Kind = "tcp"
			tv.Stats = flatten(ts.Counters)
			tv.Stats = append(tv.Stats, stat{Name: "Connects", Value: float64(ts.Connects)}, stat{Name: "Disconnects", Value: float64(ts.Disconnects)})
			if ts.LastError != nil {
				tv.LastError = ts.LastError.Error()
			}
			tv.Peers = []peerView{}
			for _, p := range ts.Peers {
				pv := peerView{
					ID: originString(p.ID), State: "connected",
					Sent: p.Sent, Received: p.Received, BytesSent: p.BytesSent, BytesReceived: p.BytesReceived,
					Dropped: p.Dropped, Queued: p.Queued, Topics: len(p.Topics),
				}
				if p.Remote != nil {
					pv.Address = p.Remote.String()
				}
				if p.Queued > 0 {
					pv.State = "connected, sending"
				}
				tv.Peers = append(tv.Peers, pv)
			}
		case *multicast.Transport:
			tv.Kind = "multicast"
			tv.Stats = flatten(t.Stats())
			for _, topic := range topics {
				tv.Groups = append(tv.Groups, groupView{Topic: topic, Group: t.Group(topic)})
			}
		case *plexonats.Transport:
			tv.Kind = "nats"
			tv.Stats = flatten(t.Stats())
		default:
			tv.Kind = reflect.TypeOf(t).String()
		}
		ev.Transports = append(ev.Transports, tv)
	}
	return ev
}

// badWords mark the counters whose growth means messages were lost or
// refused.
var badWords = []string{"Drop", "Error", "Malformed", "BadFrames", "AuthFailures", "Evictions", "Misses", "Invalid", "Replays"}

// flatten lists the numeric fields of a Stats struct, embedded structs
// included.
func flatten(v any) []stat {
	var out []stat
	var walk func(reflect.Value)
	walk = func(rv reflect.Value) {
		rt := rv.Type()
		for i := range rt.NumField() {
			f, fv := rt.Field(i), rv.Field(i)
			if !f.IsExported() {
				continue
			}
			var x float64
			switch fv.Kind() {
			case reflect.Struct:
				if f.Anonymous {
					walk(fv)
				}
				continue
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				x = float64(fv.Uint())
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				x = float64(fv.Int())
			default:
				continue
			}
			bad := false
			for _, w := range badWords {
				bad = bad || strings.Contains(f.Name, w)
			}
			out = append(out, stat{Name: f.Name, Value: x, Bad: bad})
		}
	}
	walk(reflect.ValueOf(v))
	return out
}
