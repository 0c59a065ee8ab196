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
// [prometheus.Registry.Register]. Its methods are safe for concurrent use;
// collections run one at a time.
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
	// other accumulates the counters of the folded topics, so that the
	// OtherTopic series only grow while topics come, go and get admitted.
	other   []float64
	last    map[string]*lastSeen // the folded topics' counters at the last collection
	gen     uint64               // collections so far
	folding bool                 // whether any topic was ever folded
}

// lastSeen is a folded topic's counters at the collection gen.
type lastSeen struct {
	values []float64
	gen    uint64
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
		last:      make(map[string]*lastSeen),
	}
	c.topics = c.families.reserve("plexo_topics", "Topics the Plexus has routed, published, subscribed or heard interest in.")
	c.folded = c.families.reserve("plexo_topics_folded",
		"Topics without series of their own, summed into the series with topic=\""+OtherTopic+"\".")
	c.plexus = c.families.bind(plexusScope, numericFields(reflect.TypeFor[plexo.Stats](), nil))
	c.topic = c.families.bind(topicScope, numericFields(reflect.TypeFor[plexo.TopicStats](), nil))
	c.other = make([]float64, len(c.topic))
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
	st, names, own, other, folded := c.topicStats()
	v := reflect.ValueOf(st)
	for i := range c.plexus {
		emit(ch, &c.plexus[i], c.plexus[i].value(v))
	}
	ch <- prometheus.MustNewConstMetric(c.topics, prometheus.GaugeValue, float64(len(st.Topics)))
	for i, name := range names {
		if !own[i] {
			continue
		}
		tv := reflect.ValueOf(st.Topics[name])
		for j := range c.topic {
			emit(ch, &c.topic[j], c.topic[j].value(tv), name)
		}
	}
	if other != nil {
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

// topicStats reads the Plexus's Stats and sorts its topics: names, sorted,
// and whether each has series of its own. It admits new topics while the
// bound allows, releases the admissions of topics the Plexus forgot, and
// accounts for the folded topics: other has the values of the OtherTopic
// series (nil while no topic was ever folded) and folded counts them.
//
// Collections are serialised, from reading the Stats on, so that the
// folded counters advance in the order of the snapshots.
func (c *Collector) topicStats() (st plexo.Stats, names []string, own []bool, other []float64, folded int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st = c.p.Stats()
	names = slices.Sorted(maps.Keys(st.Topics))
	for name := range c.admitted {
		if _, ok := st.Topics[name]; !ok {
			delete(c.admitted, name)
		}
	}
	own = make([]bool, len(names))
	gauges := make([]float64, len(c.topic))
	c.gen++
	for i, name := range names {
		if plexo.ReservedTopic(name) { // plexo's own few, outside the bound
			own[i] = true
			continue
		}
		_, ok := c.admitted[name]
		if !ok && len(c.admitted) < c.maxTopics && name != OtherTopic {
			c.admitted[name] = struct{}{}
			ok = true
		}
		own[i] = ok
		if ok {
			continue
		}
		folded++
		tv := reflect.ValueOf(st.Topics[name])
		last := c.last[name]
		if last == nil {
			last = &lastSeen{values: make([]float64, len(c.topic))}
			c.last[name] = last
		}
		for j := range c.topic {
			f := &c.topic[j]
			cur := f.value(tv)
			if f.kind == gauge {
				gauges[j] += cur
				continue
			}
			// A folded counter adds what it grew by since the last
			// collection; one that shrank was forgotten and made anew
			// by the Plexus, and adds all it has.
			if last.gen != 0 && cur >= last.values[j] {
				c.other[j] += cur - last.values[j]
			} else {
				c.other[j] += cur
			}
			last.values[j] = cur
		}
		last.gen = c.gen
	}
	for name, last := range c.last {
		if last.gen != c.gen { // forgotten by the Plexus, or admitted
			delete(c.last, name)
		}
	}
	if folded > 0 {
		c.folding = true
	}
	if c.folding {
		other = slices.Clone(c.other)
		for j := range c.topic {
			if c.topic[j].kind == gauge {
				other[j] = gauges[j]
			}
		}
	}
	return st, names, own, other, folded
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
