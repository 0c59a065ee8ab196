package plexoprom

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSnake(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Sent", "sent"},
		{"DecodeErrors", "decode_errors"},
		{"NAKsSent", "naks_sent"},
		{"NAKsReceived", "naks_received"},
		{"IDs", "ids"},
		{"BytesSent", "bytes_sent"},
		{"HTTPServer", "http_server"},
		{"ReceiveBuffer", "receive_buffer"},
		{"Gaps2", "gaps2"},
		{"Top10Topics", "top10_topics"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := snake(tc.in); got != tc.want {
				t.Errorf("snake(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestBindFutureFields checks the names that fields a later plexo may add
// to its Stats would get, and that clashes are dropped, not registered
// twice.
func TestBindFutureFields(t *testing.T) {
	type topicStats struct {
		Published        uint64
		Dropped          uint64
		DroppedUnrouted  uint64 // a drop reason
		DroppedUnrouted2 uint64
		Retries          uint64
		Backlog          int
		Age              time.Duration
	}
	type plexusStats struct {
		DirectoryErrors uint64
		TopicsFolded    int    // the collector's own plexo_topics_folded: dropped
		TopicRetries    uint64 // not plexo_topic_retries_total, which has a topic label
		TransportErrors uint64 // known: plexo_handoff_errors_total
		TransportWaits  uint64 // not plexo_transport_waits_total, which has a transport label
	}
	type natsLike struct { // plexonats.Stats as of this writing
		Sent, SendErrors, Received, Plain, Echoes, Malformed, InvalidTopics, Dropped uint64
		Subscriptions, RemotePeers                                                   int
	}
	fs := make(families)
	fs.reserve("plexo_topics_folded", "")
	got := map[string]string{}
	record := func(prefix string, fields []field) {
		for _, f := range fields {
			name := f.metric.name
			if len(f.labels) > 0 {
				name += "{" + strings.Join(f.labels, ",") + "}"
			}
			got[prefix+f.name] = name
		}
	}
	record("topic.", fs.bind(topicScope, numericFields(reflect.TypeFor[topicStats](), nil)))
	record("plexus.", fs.bind(plexusScope, numericFields(reflect.TypeFor[plexusStats](), nil)))
	record("nats.", fs.bind(transportScope, numericFields(reflect.TypeFor[natsLike](), nil)))
	want := map[string]string{
		"topic.Published":        "plexo_messages_published_total",
		"topic.Dropped":          "plexo_messages_dropped_total{subscription}",
		"topic.DroppedUnrouted":  "plexo_messages_dropped_total{unrouted}",
		"topic.DroppedUnrouted2": "plexo_messages_dropped_total{unrouted2}",
		"topic.Retries":          "plexo_topic_retries_total",
		"topic.Backlog":          "plexo_topic_backlog",
		"topic.Age":              "plexo_topic_age_seconds",
		"plexus.DirectoryErrors": "plexo_directory_errors_total",
		"plexus.TopicRetries":    "plexo_plexus_topic_retries_total",
		"plexus.TransportErrors": "plexo_handoff_errors_total",
		"plexus.TransportWaits":  "plexo_plexus_transport_waits_total",
		"nats.Sent":              "plexo_transport_sent_messages_total",
		"nats.SendErrors":        "plexo_transport_send_errors_total",
		"nats.Received":          "plexo_transport_received_messages_total",
		"nats.Plain":             "plexo_transport_plain_total",
		"nats.Echoes":            "plexo_transport_echoes_total",
		"nats.Malformed":         "plexo_transport_malformed_total",
		"nats.InvalidTopics":     "plexo_transport_invalid_topics_total",
		"nats.Dropped":           "plexo_transport_dropped_messages_total",
		"nats.Subscriptions":     "plexo_transport_subscriptions",
		"nats.RemotePeers":       "plexo_transport_peers",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: got %q, want no metric", k, g)
		}
	}
}
