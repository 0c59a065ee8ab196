package cli

import (
	"bufio"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
)

type echoFlags struct {
	schemaFlags
	n       int
	format  string
	timeout time.Duration
}

func newEchoCmd(st *state) *cobra.Command {
	var f echoFlags
	cmd := &cobra.Command{
		Use:   "echo TOPIC...",
		Short: "Print the messages of topics, one JSON object per line",
		Long: `echo subscribes to the topics and prints each message, decoded with the
descriptor the system shares (or the one of --proto / --descriptor-set), as
one protojson object per line on stdout and nothing else, so that jq works.
--format text prints the single-line prototext form instead.

It exits after -n messages in all, or on a signal. With --timeout it exits
non-zero if fewer than -n messages (or none, without -n) arrived in time.
A topic whose type is not known within --timeout (or --connect-timeout
without it) is an error.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 echo brewery.sensors.v1.Temperature.proto -n 1
  plexo --nats nats://127.0.0.1:4222 echo acme.v1.Ping.proto --proto acme/v1/ping.proto -I proto | jq .n`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "json" && f.format != "text" {
				return usageError(cmd, "--format %q: want json or text", f.format)
			}
			if f.n < 0 {
				return usageError(cmd, "-n %d: want 0 (no limit) or more", f.n)
			}
			return runEcho(cmd.Context(), st, f, args)
		},
	}
	f.schemaFlags.register(cmd.Flags())
	cmd.Flags().IntVarP(&f.n, "count", "n", 0, "exit after `N` messages (0: no limit)")
	cmd.Flags().StringVar(&f.format, "format", "json", "output `FORMAT`: json (protojson) or text (prototext), one message per line")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "fail if the messages did not arrive within this long (0: wait forever)")
	return cmd
}

func runEcho(ctx context.Context, st *state, f echoFlags, topics []string) error {
	var cancelTimeout context.CancelFunc = func() {}
	runCtx := ctx
	if f.timeout > 0 {
		runCtx, cancelTimeout = context.WithTimeout(ctx, f.timeout)
	}
	defer cancelTimeout()
	conn, err := st.connect(runCtx)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	defer conn.Close()
	res, err := newResolver(runCtx, conn.Plexus, f.schemaFlags)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	defer res.Close()
	wait := f.timeout
	if wait <= 0 {
		wait = st.conn.Timeout
	}
	for _, topic := range topics {
		if _, ok := mcapio.TopicCodec(topic); !ok {
			return fmt.Errorf("echo: %q is not a plexo topic name (<namespace>.<Message>.proto or .json)", topic)
		}
	}

	out := bufio.NewWriter(st.Out)
	var (
		mu    sync.Mutex
		count int
		fail  error
	)
	done, finish := context.WithCancel(runCtx)
	defer finish()
	jsonOpts := protojson.MarshalOptions{Resolver: dynamicResolver(res)}
	textOpts := prototext.MarshalOptions{Resolver: dynamicResolver(res)}
	// Subscribe before the types are resolved: the interest is what starts a
	// publisher that waits for a subscriber before its first message, and so
	// before the directory can name its type. What arrives meanwhile waits in
	// the subscriptions' queues until every type is known.
	types := make([]topicType, len(topics))
	resolved := make(chan struct{})
	for i, topic := range topics {
		h := func(ctx context.Context, m *plexo.RawMessage) {
			select {
			case <-resolved:
			case <-ctx.Done():
				return
			}
			tt := types[i]
			msg := dynamicpb.NewMessage(tt.md)
			var err error
			if m.Codec == mcapio.CodecJSON || (m.Codec == "" && tt.codec == mcapio.CodecJSON) {
				err = protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: dynamicResolver(res)}.Unmarshal(m.Payload, msg)
			} else {
				err = proto.UnmarshalOptions{Resolver: dynamicResolver(res)}.Unmarshal(m.Payload, msg)
			}
			var line []byte
			if err == nil {
				if f.format == "text" {
					line, err = textOpts.Marshal(msg)
				} else {
					line, err = jsonOpts.Marshal(msg)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if f.n > 0 && count >= f.n {
				return
			}
			if err != nil {
				fail = fmt.Errorf("echo: %s: message from %x does not decode as %s: %w", m.Topic, m.Origin, tt.md.FullName(), err)
				finish()
				return
			}
			out.Write(line)
			out.WriteByte('\n')
			if err := out.Flush(); err != nil {
				fail = fmt.Errorf("echo: write: %w", err)
				finish()
				return
			}
			count++
			if f.n > 0 && count >= f.n {
				finish()
			}
		}
		sub, err := conn.Plexus.SubscribeRaw(done, topic, h)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		defer sub.Close()
	}
	for i, topic := range topics {
		tt, err := res.resolve(runCtx, topic, wait)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		types[i] = tt
	}
	close(resolved)
	<-done.Done()
	mu.Lock()
	defer mu.Unlock()
	if fail != nil {
		return fail
	}
	if f.n > 0 && count >= f.n {
		return nil
	}
	if f.timeout > 0 && ctx.Err() == nil { // the timeout, not a signal
		if count == 0 || f.n > 0 {
			return nothingCame(fmt.Errorf("echo: %d message(s) on %v within %v", count, topics, f.timeout))
		}
	}
	return nil
}
