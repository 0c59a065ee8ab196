package plexoprom

import (
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexo-go/plexo"
)

// OtherTopic is the topic label value of the series that sum the topics
// past the bound of [WithMaxTopics]. A topic with this very name is always
// counted there.
const OtherTopic = "_other"

// A Collector is a [prometheus.Collector] of a Plexus's statistics and those
// of the transports given with [WithTransport]. It reads them afresh on
// every collection, without stopping the Plexus; register it once, with
// [prometheus.Registry.Register]. Its methods are safe for concurrent use.
type Collector struct {
	p          *plexo.Plexus
	maxTopics  int
	plexus     []field
	topic      []field
	transports []transport
	families   families
	topics     *prometheus.Desc
	folded     *prometheus.Desc

	mu       sync.Mutex
	admitted map[string]struct{} // topics with their own series, at most maxTopics
}

type transport struct {
	source
	fields []field
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of p's statistics. The metrics it
// exports are described in the package documentation.
func NewCollector(p *plexo.Plexus, opts ...Option) *Collector {
	cfg := newConfig(opts)
	c := &Collector{
		p:         p,
		maxTopics: cfg.maxTopics,
		families:  make(families),
		admitted:  make(map[string]struct{}),
	}
	c.topics = c.families.reserve("plexo_topics", "Topics the Plexus has routed, published, subscribed or heard interest in.")
	c.folded = c.families.reserve("plexo_topics_folded",
		"Topics without series of their own, summed into the series with topic=\""+OtherTopic+"\".")
	c.plexus = c.families.bind(plexusScope, numericFields(reflect.TypeFor[plexo.Stats](), nil))
	c.topic = c.families.bind(topicScope, numericFields(reflect.TypeFor[plexo.TopicStats](), nil))
	for _, src := range cfg.transports {
		fields := append(numericFields(src.typ, src.skip), src.virtual...)
		c.transports = append(c.transports, transport{source: src, fields: c.families.bind(transportScope, fields)})
	}
	return c
}

// Describe sends the descriptors of every metric c may collect.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, name := range slices.Sorted(maps.Keys(c.families)) {
		ch <- c.families[name].desc
	}
}

// Collect reads the statistics of the Plexus and its transports and sends
// them as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	v := reflect.ValueOf(st)
	for i := range c.plexus {
		emit(ch, &c.plexus[i], c.plexus[i].value(v))
	}
	ch <- prometheus.MustNewConstMetric(c.topics, prometheus.GaugeValue, float64(len(st.Topics)))

	names := slices.Sorted(maps.Keys(st.Topics))
	own := c.admit(names)
	other := make([]float64, len(c.topic))
	folded := 0
	for i, name := range names {
		tv := reflect.ValueOf(st.Topics[name])
		if !own[i] {
			folded++
			for j := range c.topic {
				other[j] += c.topic[j].value(tv)
			}
			continue
		}
		for j := range c.topic {
			emit(ch, &c.topic[j], c.topic[j].value(tv), name)
		}
	}
	if folded > 0 {
		for j := range c.topic {
			emit(ch, &c.topic[j], other[j], OtherTopic)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.folded, prometheus.GaugeValue, float64(folded))

	for i := range c.transports {
		t := &c.transports[i]
		tv := reflect.ValueOf(t.read())
		if tv.Kind() == reflect.Pointer {
			if tv.IsNil() {
				continue
			}
			tv = tv.Elem()
		}
		for j := range t.fields {
			emit(ch, &t.fields[j], t.fields[j].value(tv), t.name)
		}
	}
}

// admit reports which of names, sorted, have series of their own, first
// admitting new ones while the bound allows.
func (c *Collector) admit(names []string) []bool {
	own := make([]bool, len(names))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, name := range names {
		if name == OtherTopic {
			continue
		}
		_, ok := c.admitted[name]
		if !ok && len(c.admitted) < c.maxTopics {
			c.admitted[name] = struct{}{}
			ok = true
		}
		own[i] = ok
	}
	return own
}

// emit sends f's value with the scope's label values, then f's own.
func emit(ch chan<- prometheus.Metric, f *field, value float64, labels ...string) {
	labels = append(labels, f.labels...)
	m, err := prometheus.NewConstMetric(f.metric.desc, f.kind, value, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(f.metric.desc, err)
	}
	ch <- m
}
