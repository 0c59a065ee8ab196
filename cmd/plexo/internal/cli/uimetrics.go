package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plexo-go/plexo/contrib/plexoprom"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/plexonats"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// metricsHandler returns the handler of /metrics for c: the plexoprom
// collector of its Plexus and transports, each transport labelled with the
// flag that attached it, in a registry of its own.
func metricsHandler(c *Conn) http.Handler {
	var opts []plexoprom.Option
	for _, a := range c.Attached {
		switch t := a.Transport.(type) {
		case *tcp.Transport:
			opts = append(opts, plexoprom.WithTransport(a.Name, t))
		case *multicast.Transport:
			opts = append(opts, plexoprom.WithTransport(a.Name, t))
		case *plexonats.Transport:
			opts = append(opts, plexoprom.WithTransport(a.Name, t))
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(plexoprom.NewCollector(c.Plexus, opts...))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
