package plexoprom_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/contrib/plexoprom"
)

// BenchmarkGather measures one scrape's collection (Gather, without the
// text encoding) of a Plexus with many topics; past DefaultMaxTopics they
// are folded into _other.
func BenchmarkGather(b *testing.B) {
	for _, topics := range []int{100, 1000, 10000, 20000} {
		b.Run(fmt.Sprint("topics=", topics), func(b *testing.B) {
			ctx := context.Background()
			p := plexo.New()
			defer p.Close()
			for i := range topics {
				if err := topic(fmt.Sprintf("T%05d", i)).Publish(ctx, p, wrapperspb.Int64(1)); err != nil {
					b.Fatal(err)
				}
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(plexoprom.NewCollector(p))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
