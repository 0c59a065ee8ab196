package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
)

func newBridgeCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "bridge",
		Short: "Attach the transports and forward between them until a signal",
		Long: `bridge attaches every transport of the connection flags to one Plexus, which
forwards each topic between the transports where it is wanted, and logs
(slog, to stderr) until SIGINT or SIGTERM.`,
		Example: `  plexo bridge --multicast eth0 --nats nats://hub:4222
  plexo bridge --tcp-listen 0.0.0.0:7000 --tcp-dial site-b:7000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if st.conn.Empty() {
				return usageError(cmd, noTransport)
			}
			return runBridge(cmd.Context(), st)
		},
	}
}

func runBridge(ctx context.Context, st *state) error {
	log := st.logger(slog.LevelInfo)
	conn, err := Connect(ctx, st.conn, log)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	defer conn.Close()
	log.Info("bridging", "id", fmt.Sprintf("%x", conn.Plexus.ID()),
		"tcp_dial", st.conn.TCPDial, "tcp_listen", listenAddrs(conn), "multicast", st.conn.Multicast, "nats", st.conn.NATS)
	<-ctx.Done()
	log.Info("stopping", "cause", context.Cause(ctx))
	return nil
}

func listenAddrs(c *Conn) []string {
	var addrs []string
	for _, a := range c.Listeners {
		addrs = append(addrs, a.String())
	}
	return addrs
}
