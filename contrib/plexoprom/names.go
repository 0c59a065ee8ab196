package plexoprom

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// A family is one metric name with its help text and label names.
type family struct {
	name   string
	help   string
	kind   prometheus.ValueType
	labels []string
	desc   *prometheus.Desc
	// reserved families are the collector's own, never a field's.
	reserved bool
}

// A known field has a chosen metric name and help text; fields not known
// get names derived from theirs.
type known struct {
	kind   prometheus.ValueType
	name   string
	help   string
	reason string // for drops: the value of the reason label
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// Reasons of plexo_messages_dropped_total.
const (
	// reasonSubscription is TopicStats.Dropped: subscriptions' overflow
	// policies and closes.
	reasonSubscription = "subscription"
)

const droppedHelp = "Messages of a topic dropped in this process, by reason (subscription: a subscription's queue overflowed or it closed)."

// topicFields names the fields of plexo.TopicStats.
var topicFields = map[string]known{
	"Published":            {counter, "plexo_messages_published_total", "Messages of a topic published in this process.", ""},
	"Received":             {counter, "plexo_messages_received_total", "Messages of a topic that arrived from transports, duplicates excluded.", ""},
	"Forwarded":            {counter, "plexo_messages_forwarded_total", "Hand-offs of a topic's messages to transports (one per transport per message).", ""},
	"Delivered":            {counter, "plexo_messages_delivered_total", "Handler calls for a topic's messages that returned.", ""},
	"Dropped":              {counter, "plexo_messages_dropped_total", droppedHelp, reasonSubscription},
	"DecodeErrors":         {counter, "plexo_decode_errors_total", "Arrivals of a topic that could not be decoded.", ""},
	"Panics":               {counter, "plexo_handler_panics_total", "Handler calls for a topic's messages that panicked.", ""},
	"Subscriptions":        {gauge, "plexo_subscriptions", "Local subscriptions to a topic.", ""},
	"InterestedTransports": {gauge, "plexo_interested_transports", "Attached transports with a peer that wants a topic.", ""},
}

// plexusFields names the fields of plexo.Stats.
var plexusFields = map[string]known{
	"Duplicates":      {counter, "plexo_duplicates_total", "Arrivals dropped because the Plexus had already seen or published them.", ""},
	"Unrouted":        {counter, "plexo_unrouted_total", "Arrivals dropped because nobody here or beyond a bridge wants their topic.", ""},
	"TransportErrors": {counter, "plexo_handoff_errors_total", "Failed hand-offs of messages to transports.", ""},
	"DirectoryRejected": {counter, "plexo_directory_rejected_total",
		"Directory messages (announcements, queries, descriptor sets) dropped as malformed, forged or beyond the directory's bounds.", ""},
}

// transportFields names the fields of transports' Stats, whatever the
// transport. Several fields may share a name (Peers and RemotePeers): the
// first one a transport has wins.
var transportFields = map[string]known{
	"Sent":          {counter, "plexo_transport_sent_messages_total", "Messages a transport sent.", ""},
	"Received":      {counter, "plexo_transport_received_messages_total", "Messages a transport handed to the Plexus.", ""},
	"Dropped":       {counter, "plexo_transport_dropped_messages_total", "Messages a transport lost (queue overflows, oversized messages, slow consumers, connections that ended).", ""},
	"BytesSent":     {counter, "plexo_transport_sent_bytes_total", "Bytes a transport wrote, framing included.", ""},
	"BytesReceived": {counter, "plexo_transport_received_bytes_total", "Bytes a transport read, framing included.", ""},
	"Peers":         {gauge, "plexo_transport_peers", "Peers a transport is connected to or hears now, this node excluded.", ""},
	"RemotePeers":   {gauge, "plexo_transport_peers", "Peers a transport is connected to or hears now, this node excluded.", ""},
	"Queued":        {gauge, "plexo_transport_queued_messages", "Messages waiting in a transport's send queues.", ""},
	"ReceiveBuffer": {gauge, "plexo_transport_receive_buffer_bytes", "Receive buffer the kernel granted a transport's socket.", ""},
	"SendErrors":    {counter, "plexo_transport_send_errors_total", "Messages or datagrams a transport failed to send.", ""},
	"Connects":      {counter, "plexo_transport_connects_total", "Connections that completed their handshake.", ""},
	"Disconnects":   {counter, "plexo_transport_disconnects_total", "Handshaken connections that ended.", ""},
}

// A scope is where a struct's fields become metrics: the Plexus, a topic
// or a transport.
type scope struct {
	known  map[string]known
	prefix string   // of derived names: "plexo_", "plexo_topic_", "plexo_transport_"
	labels []string // label names before any reason
	what   string   // the struct, for derived help texts
	// dropPrefix makes fields named Dropped<Reason> values of
	// plexo_messages_dropped_total with reason <reason>.
	dropPrefix bool
}

var (
	plexusScope    = scope{known: plexusFields, prefix: "plexo_", what: "plexo.Stats"}
	topicScope     = scope{known: topicFields, prefix: "plexo_topic_", labels: []string{"topic"}, what: "plexo.TopicStats", dropPrefix: true}
	transportScope = scope{known: transportFields, prefix: "plexo_transport_", labels: []string{"transport"}, what: "the transport's Stats"}
)

// name chooses the metric of f in s: its name, help text and extra label.
func (s scope) name(f *field) (name, help, reason string) {
	if k, ok := s.known[f.name]; ok && k.kind == f.kind {
		return k.name, k.help, k.reason
	}
	if s.dropPrefix && f.kind == counter && strings.HasPrefix(f.name, "Dropped") && len(f.name) > len("Dropped") {
		return topicFields["Dropped"].name, droppedHelp, snake(strings.TrimPrefix(f.name, "Dropped"))
	}
	name = s.prefix + snake(f.name)
	if s.labels == nil && (strings.HasPrefix(name, topicScope.prefix) || strings.HasPrefix(name, transportScope.prefix)) {
		// Names of Plexus-wide fields keep clear of the labelled families.
		name = "plexo_plexus_" + strings.TrimPrefix(name, s.prefix)
	}
	if f.seconds {
		name += "_seconds"
	}
	if f.kind == counter {
		name += "_total"
	}
	return name, "The " + f.name + " field of " + s.what + ".", ""
}

// families holds the collector's metric families by name, so that fields of
// several transports with one meaning share one family.
type families map[string]*family

// reserve adds a family of the collector's own, which no field may take,
// and returns its descriptor.
func (fs families) reserve(name, help string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, nil, nil)
	fs[name] = &family{name: name, help: help, kind: gauge, desc: d, reserved: true}
	return d
}

// bind gives each of fields its family in s, dropping the fields whose name
// another field of the same struct took first or whose derived name clashes
// with a reserved family or one of other labels or kind.
func (fs families) bind(s scope, fields []field) []field {
	out := fields[:0]
	taken := make(map[string]bool) // name and reason, within this struct
	for _, f := range fields {
		name, help, reason := s.name(&f)
		labels := s.labels
		if reason != "" || name == topicFields["Dropped"].name {
			labels = append(append([]string(nil), s.labels...), "reason")
			f.labels = []string{reason}
		}
		if taken[name+"\x00"+reason] {
			continue
		}
		fam := fs[name]
		if fam == nil {
			fam = &family{name: name, help: help, kind: f.kind, labels: labels,
				desc: prometheus.NewDesc(name, help, labels, nil)}
			fs[name] = fam
		} else if fam.reserved || fam.kind != f.kind || !slices.Equal(fam.labels, labels) {
			continue
		}
		taken[name+"\x00"+reason] = true
		f.metric = fam
		out = append(out, f)
	}
	return out
}
