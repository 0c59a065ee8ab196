package plexoprom

import (
	"reflect"

	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// DefaultMaxTopics is how many topics get their own series unless
// [WithMaxTopics] says otherwise.
const DefaultMaxTopics = 10000

// An Option configures a [Collector]. Options are applied in order; a value
// out of range leaves the documented default.
type Option interface {
	applyToCollector(*config)
}

// WithMaxTopics bounds how many distinct values the topic label takes,
// besides [OtherTopic] and the few topics plexo reserves for itself
// ([plexo.ReservedTopic], the directory's), which always have their own
// series. The first n topics the collector sees (in name order within one
// collection) keep their own series until the Plexus forgets them; the
// counters and gauges of the others are summed into the series with
// topic=[OtherTopic], and plexo_topics_folded counts them. The default is
// [DefaultMaxTopics]; values below 1 keep the default.
func WithMaxTopics(n int) Option { return maxTopicsOption(n) }

// WithTransport adds a transport's statistics to the collector's metrics,
// with the label transport=name. t is anything with a Stats method whose
// result is a struct or a pointer to one: the transports of this module
// (tcp, multicast, pipe), plexonats, or a user's own.
//
// Each exported numeric field of the struct, embedded structs flattened,
// becomes a metric labelled with the transport's name. Unsigned integers are
// counters, signed integers and floats are gauges, and a [time.Duration] is a
// gauge in seconds. Fields with a meaning common to transports share a
// metric: Sent, Received and Dropped (messages), BytesSent and
// BytesReceived, Peers or RemotePeers, Queued, SendErrors, Connects,
// Disconnects and ReceiveBuffer (see the package documentation). Any other
// field F becomes plexo_transport_<f>_total for a counter and
// plexo_transport_<f> for a gauge, where <f> is F in snake case (NAKsSent
// gives naks_sent), with help text naming the field. Other fields (strings,
// slices, errors) are left out, except that for a *tcp.Transport
// plexo_transport_peers is the number of connected peers and
// plexo_transport_queued_messages the sum of their send queues, and for a
// *multicast.Transport plexo_transport_peers leaves this node out of its
// Peers.
//
// A field whose metric name is already taken with another kind or other
// labels (by a field of another transport or of the Plexus, or by an earlier
// field of the same Stats, as RemotePeers after Peers) is left out.
//
// A later WithTransport with the same name replaces an earlier one. An empty
// name, a nil t or a Stats result that is not a struct leaves the option
// without effect.
func WithTransport[S any](name string, t interface{ Stats() S }) Option {
	if name == "" || isNil(t) {
		return noOption{}
	}
	typ := reflect.TypeFor[S]()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return noOption{}
	}
	src := source{name: name, typ: typ, read: func() any { return t.Stats() }}
	switch any(t).(type) {
	case *tcp.Transport:
		src.skip = map[string]bool{"Peers": true}
		src.virtual = []field{
			{name: "Peers", kind: gauge, get: func(v reflect.Value) float64 {
				return float64(v.FieldByName("Peers").Len())
			}},
			{name: "Queued", kind: gauge, get: func(v reflect.Value) float64 {
				peers := v.FieldByName("Peers")
				var n int64
				for i := range peers.Len() {
					n += peers.Index(i).FieldByName("Queued").Int()
				}
				return float64(n)
			}},
		}
	case *multicast.Transport:
		src.skip = map[string]bool{"Peers": true}
		src.virtual = []field{
			{name: "Peers", kind: gauge, get: func(v reflect.Value) float64 {
				return float64(max(v.FieldByName("Peers").Int()-1, 0))
			}},
		}
	}
	return transportOption{src}
}

// A source is a transport whose statistics the collector reads.
type source struct {
	name    string
	typ     reflect.Type // the struct type of the Stats result
	read    func() any   // calls Stats
	skip    map[string]bool
	virtual []field
}

type config struct {
	maxTopics  int
	transports []source
}

func newConfig(opts []Option) config {
	cfg := config{maxTopics: DefaultMaxTopics}
	for _, o := range opts {
		if o != nil {
			o.applyToCollector(&cfg)
		}
	}
	return cfg
}

type maxTopicsOption int

func (o maxTopicsOption) applyToCollector(c *config) {
	if o >= 1 {
		c.maxTopics = int(o)
	}
}

type noOption struct{}

func (noOption) applyToCollector(*config) {}

type transportOption struct{ src source }

func (o transportOption) applyToCollector(c *config) {
	for i := range c.transports {
		if c.transports[i].name == o.src.name {
			c.transports[i] = o.src
			return
		}
	}
	c.transports = append(c.transports, o.src)
}

// isNil reports whether t is nil or a nil pointer, map, slice, channel or
// function.
func isNil(t any) bool {
	if t == nil {
		return true
	}
	switch v := reflect.ValueOf(t); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return v.IsNil()
	}
	return false
}
