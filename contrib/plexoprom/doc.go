// Package plexoprom exports the statistics of a [plexo.Plexus] and of its
// transports as Prometheus metrics, through a [prometheus.Collector]:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(plexoprom.NewCollector(p, plexoprom.WithTransport("tcp", l)))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// It is a module of its own, so that plexo's go.mod does not carry
// client_golang. The collector reads [plexo.Plexus.Stats] and each
// transport's Stats at every scrape; it keeps no counters of its own and adds
// no work to publishing or delivery. (Plexus.Stats holds, while it walks the
// topics, the lock that creating a topic takes: a scrape of 10,000 topics
// delays a first publish or subscribe to a new topic by a few milliseconds.)
//
// # Metrics
//
// Per topic, labelled topic (see below for the bound on its values):
//
//	plexo_messages_published_total   counter  messages published in this process
//	plexo_messages_received_total    counter  messages that arrived from transports, duplicates excluded
//	plexo_messages_forwarded_total   counter  hand-offs to transports, one per transport per message
//	plexo_messages_delivered_total   counter  handler calls that returned
//	plexo_messages_dropped_total     counter  messages dropped, labelled reason too
//	plexo_decode_errors_total        counter  arrivals that could not be decoded
//	plexo_handler_panics_total       counter  handler calls that panicked
//	plexo_subscriptions              gauge    local subscriptions
//	plexo_interested_transports      gauge    attached transports with a peer that wants the topic
//
// The reason of plexo_messages_dropped_total is "subscription" for
// [plexo.TopicStats].Dropped (a subscription's queue overflowed, or it closed
// with messages queued). A field DroppedX that a later plexo adds to
// TopicStats becomes the reason "x"; any other new numeric field F becomes
// plexo_topic_<f>_total (unsigned) or plexo_topic_<f> (signed), <f> being F
// in snake case.
//
// For the Plexus as a whole:
//
//	plexo_duplicates_total                counter  arrivals dropped as already seen (bridge cycles) or published here
//	plexo_unrouted_total                  counter  arrivals dropped because nobody here or beyond a bridge wants them
//	plexo_handoff_errors_total            counter  failed hand-offs to transports
//	plexo_directory_rejected_total        counter  directory messages dropped as malformed, forged or beyond bounds
//	plexo_topics                          gauge    topics the Plexus knows, folded ones included
//	plexo_topics_folded                   gauge    topics summed into topic="_other"
//
// and any other numeric field F of [plexo.Stats] as plexo_<f>_total or
// plexo_<f> (plexo_plexus_<f>… where <f> starts with topic_ or transport_:
// every plexo_topic_ and plexo_transport_ metric has its label).
//
// Per transport given with [WithTransport], labelled transport:
//
//	plexo_transport_sent_messages_total      counter  Sent
//	plexo_transport_received_messages_total  counter  Received
//	plexo_transport_dropped_messages_total   counter  Dropped
//	plexo_transport_sent_bytes_total         counter  BytesSent
//	plexo_transport_received_bytes_total     counter  BytesReceived
//	plexo_transport_send_errors_total        counter  SendErrors
//	plexo_transport_connects_total           counter  Connects
//	plexo_transport_disconnects_total        counter  Disconnects
//	plexo_transport_peers                    gauge    Peers or RemotePeers (tcp: connected peers; multicast: nodes heard but this one)
//	plexo_transport_queued_messages          gauge    Queued (tcp: the sum of the peers' send queues)
//	plexo_transport_receive_buffer_bytes     gauge    ReceiveBuffer
//
// and every other numeric field F of the transport's Stats as
// plexo_transport_<f>_total (unsigned integers) or plexo_transport_<f>
// (signed integers and floats; a time.Duration as plexo_transport_<f>_seconds;
// the same rules give the per-topic and Plexus-wide names above).
// So multicast gives plexo_transport_gaps_total, plexo_transport_naks_sent_total,
// plexo_transport_relocations_total, plexo_transport_groups and so on, and
// plexonats plexo_transport_echoes_total and plexo_transport_subscriptions,
// without this package importing plexonats. A transport's own type is not a
// label: name transports so that their kind shows ("tcp", "tcp-backhaul",
// "multicast"). The help text of each metric says what it counts.
//
// # Cardinality
//
// Only the topic label grows with the system. At most [DefaultMaxTopics]
// topics (or the number given to [WithMaxTopics]) have series of their own,
// besides the directory's reserved plexo.v1 topics: the first ones the
// collector sees, in name order within one scrape, keep them until the
// Plexus forgets the topic (plexo forgets idle topics a minute after nobody
// needs them), so that no series moves between topics while they live. The
// others are summed into the series labelled topic=[OtherTopic], and
// plexo_topics_folded counts them. The counters of that series only grow:
// the collector adds what each folded topic grew by since the previous
// scrape, so a folded topic that the Plexus forgets, or that gets a series
// of its own when a place frees, takes nothing back. Per-peer series are not
// exported; the transport label takes the few names given to
// [WithTransport].
package plexoprom
