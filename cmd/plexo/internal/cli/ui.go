package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexo-go/plexo/cmd/plexo/internal/ui"
)

// DefaultHTTPAddr is where plexo ui serves unless --http says otherwise.
const DefaultHTTPAddr = "127.0.0.1:8080"

type uiFlags struct {
	addr         string
	allowPublish bool
}

func newUICmd(st *state) *cobra.Command {
	var f uiFlags
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a live view of the bus in the browser",
		Long: `ui serves one page that shows the bus live: every topic with its type, codec,
publishers, subscribers, messages and bytes per second and the last minute's
rate; the latest messages of the topic you select, decoded as JSON; and the
transports with their peers, counters and drops. It also serves Prometheus
metrics on /metrics.

It prints the URL it serves on, and binds to loopback unless --http names
another address. The page is read-only unless --allow-publish.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 ui
  plexo --multicast eth0 ui --http 127.0.0.1:9000 --allow-publish`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUI(cmd.Context(), st, f)
		},
	}
	cmd.Flags().StringVar(&f.addr, "http", DefaultHTTPAddr, "serve the page on `HOST:PORT` (port 0 picks a free one)")
	cmd.Flags().BoolVar(&f.allowPublish, "allow-publish", false, "let the page publish messages")
	return cmd
}

func runUI(ctx context.Context, st *state, f uiFlags) error {
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return fmt.Errorf("ui: --http %q: %w", f.addr, err)
	}
	c, err := st.connect(ctx)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	defer c.Close()
	// Publishing from the page is logged even without --verbose.
	cfg := ui.Config{AllowPublish: f.allowPublish, Logger: st.logger(slog.LevelInfo), Metrics: metricsHandler(c)}
	for _, a := range c.Attached {
		cfg.Transports = append(cfg.Transports, ui.Transport{Name: a.Name, Transport: a.Transport})
	}
	srv, err := ui.New(ctx, c.Plexus, cfg)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !loopbackHost(host) {
		fmt.Fprintf(st.Err, "plexo: ui: serving on %s, which is not loopback: anyone who reaches it sees the bus%s\n",
			addr, map[bool]string{true: " and can publish", false: ""}[f.allowPublish])
	}
	fmt.Fprintf(st.Out, "http://%s/\n", urlHost(addr))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	_ = srv.Close() // ends the event streams, so that Shutdown need not wait for them
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if serr := hs.Shutdown(sctx); serr != nil {
		_ = hs.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

// loopbackHost reports whether host, from --http, is a loopback address or
// localhost.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// urlHost is addr as the host part of a URL, the unspecified address
// replaced by loopback.
func urlHost(addr *net.TCPAddr) string {
	ip := addr.IP
	if ip.IsUnspecified() {
		if ip.To4() != nil {
			ip = net.IPv4(127, 0, 0, 1)
		} else {
			ip = net.IPv6loopback
		}
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}
