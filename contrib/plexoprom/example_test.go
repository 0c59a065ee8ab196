package plexoprom_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/contrib/plexoprom"
	"github.com/plexo-go/plexo/runtime/tcp"
)

var readingTopic = plexo.NewTopic[*wrapperspb.DoubleValue]("brewery.sensors.v1.Reading.proto")

// A program exposes its own Plexus, and its TCP transport, on /metrics.
func ExampleNewCollector() {
	ctx := context.Background()
	p := plexo.New()
	defer p.Close()
	l, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if err := p.Attach(l); err != nil {
		panic(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(plexoprom.NewCollector(p, plexoprom.WithTransport("tcp", l)))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a real program picks its port
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	for _, c := range []float64{66.5, 66.7, 66.6} {
		if err := readingTopic.Publish(ctx, p, wrapperspb.Double(c)); err != nil {
			panic(err)
		}
	}

	// What Prometheus would scrape.
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `plexo_messages_published_total{topic="brewery.`) || strings.HasPrefix(line, "plexo_transport_peers") {
			fmt.Println(line)
		}
	}
	// Output:
	// plexo_messages_published_total{topic="brewery.sensors.v1.Reading.proto"} 3
	// plexo_transport_peers{transport="tcp"} 0
}

// serialStats is what a user's own transport reports.
type serialStats struct {
	Sent      uint64 // becomes plexo_transport_sent_messages_total
	CRCErrors uint64 // becomes plexo_transport_crc_errors_total
	Baud      int    // becomes the gauge plexo_transport_baud
}

type serialTransport struct{ st serialStats }

func (s *serialTransport) Stats() serialStats { return s.st }

// Any transport with a Stats method returning a struct gives metrics named
// after its fields.
func ExampleWithTransport() {
	p := plexo.New()
	defer p.Close()
	serial := &serialTransport{serialStats{Sent: 12, CRCErrors: 1, Baud: 115200}}

	reg := prometheus.NewRegistry()
	reg.MustRegister(plexoprom.NewCollector(p, plexoprom.WithTransport("serial", serial)))
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "plexo_transport_") {
			for _, m := range mf.GetMetric() {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				fmt.Printf("%s{transport=%q} %v\n", mf.GetName(), m.GetLabel()[0].GetValue(), v)
			}
		}
	}
	// Output:
	// plexo_transport_baud{transport="serial"} 115200
	// plexo_transport_crc_errors_total{transport="serial"} 1
	// plexo_transport_sent_messages_total{transport="serial"} 12
}
