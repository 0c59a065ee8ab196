package plexoprom

import (
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
)

// A field is one numeric field of a statistics struct, or a value derived
// from it, and the metric it becomes.
type field struct {
	name  string // the Go field name, such as "DecodeErrors"
	index []int  // path through embedded structs; nil for a virtual field
	kind  prometheus.ValueType
	// seconds converts a time.Duration field to seconds.
	seconds bool
	// get computes a virtual field from the whole struct.
	get    func(v reflect.Value) float64
	metric *family
	// labels are the label values after the scope's own (topic,
	// transport), such as the drop reason.
	labels []string
}

// value reads f from v, a struct of the type f was planned for.
func (f *field) value(v reflect.Value) float64 {
	if f.get != nil {
		return f.get(v)
	}
	fv := v.FieldByIndex(f.index)
	switch {
	case f.seconds:
		return time.Duration(fv.Int()).Seconds()
	case fv.CanUint():
		return float64(fv.Uint())
	case fv.CanInt():
		return float64(fv.Int())
	default:
		return fv.Float()
	}
}

// numericFields lists the exported numeric fields of struct type t,
// flattening embedded structs, in declaration order, skipping the names in
// skip. Unsigned integers are counters; signed integers and floats are
// gauges; a time.Duration is a gauge in seconds.
func numericFields(t reflect.Type, skip map[string]bool) []field {
	var out []field
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			index := append(append([]int(nil), prefix...), i)
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, index)
				continue
			}
			if !sf.IsExported() || skip[sf.Name] {
				continue
			}
			f := field{name: sf.Name, index: index}
			switch k := sf.Type.Kind(); {
			case sf.Type == reflect.TypeFor[time.Duration]():
				f.kind, f.seconds = prometheus.GaugeValue, true
			case k >= reflect.Uint && k <= reflect.Uint64:
				f.kind = prometheus.CounterValue
			case k >= reflect.Int && k <= reflect.Int64, k == reflect.Float32, k == reflect.Float64:
				f.kind = prometheus.GaugeValue
			default:
				continue
			}
			out = append(out, f)
		}
	}
	walk(t, nil)
	return out
}

// snake turns a Go field name into a metric name part: "DecodeErrors"
// becomes "decode_errors", "NAKsSent" "naks_sent", "BytesSent" "bytes_sent".
func snake(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			next := rune(0)
			if i+1 < len(r) {
				next = r[i+1]
			}
			// A plural s after an acronym ("NAKs") stays with it.
			pluralS := next == 's' && (i+2 == len(r) || unicode.IsUpper(r[i+2]))
			if unicode.IsLower(prev) || unicode.IsDigit(prev) ||
				(unicode.IsUpper(prev) && unicode.IsLower(next) && !pluralS) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
