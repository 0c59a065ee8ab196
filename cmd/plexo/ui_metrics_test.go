package main_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// TestUIMetrics scrapes the /metrics of plexo ui with the Prometheus text
// parser: the readings the page's Plexus received are counted, and the tcp
// transport has its series labelled with the flag that attached it.
func TestUIMetrics(t *testing.T) {
	pub := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--interval", "10ms")
	u := startUI(t, "--tcp-dial", pub.addr, "ui", "--http", "127.0.0.1:0")
	deadline := time.Now().Add(15 * time.Second)
	for {
		received, peers, err := scrape(u.url + "metrics")
		if err != nil {
			t.Fatal(err)
		}
		if received > 0 && peers == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15s: %v readings received, %v tcp peers; want > 0 and 1", received, peers)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scrape reads /metrics: the received readings and the tcp peers.
func scrape(url string) (received, peers float64, err error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range families["plexo_messages_received_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "topic" && l.GetValue() == plexotestv1.ReadingTopicName {
				received = m.GetCounter().GetValue()
			}
		}
	}
	for _, m := range families["plexo_transport_peers"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "transport" && len(l.GetValue()) > len("tcp-dial ") && l.GetValue()[:9] == "tcp-dial " {
				peers = m.GetGauge().GetValue()
			}
		}
	}
	return received, peers, nil
}
