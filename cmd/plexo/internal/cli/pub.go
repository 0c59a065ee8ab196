package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
)

// DefaultWait is how long pub and replay wait for a subscriber.
const DefaultWait = 5 * time.Second

// linger gives the transports time to send the last messages before the
// command closes them.
const linger = 200 * time.Millisecond

type pubFlags struct {
	schemaFlags
	count int
	rate  float64
	wait  time.Duration
}

func newPubCmd(st *state) *cobra.Command {
	var f pubFlags
	cmd := &cobra.Command{
		Use:   "pub TOPIC JSON",
		Short: "Publish a message given as JSON",
		Long: `pub encodes JSON (protojson) with the topic's descriptor, from the directory
or from --proto / --descriptor-set, and publishes it --count times at --rate.
Unknown fields and type mismatches are errors that name the field.

It first waits up to --wait for a subscriber of the topic, so that a running
subscriber gets the first message; without one it publishes anyway.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 pub brewery.sensors.v1.Temperature.proto '{"sensorId":"f2","celsius":19.5}'
  plexo --nats nats://127.0.0.1:4222 pub acme.v1.Ping.proto '{"n":1}' --count 10 --rate 2 --proto acme/v1/ping.proto`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.count < 0 {
				return usageError(cmd, "--count %d: want 0 (until interrupted) or more", f.count)
			}
			if f.rate < 0 {
				return usageError(cmd, "--rate %v: want 0 (no pause) or more", f.rate)
			}
			return runPub(cmd.Context(), st, f, args[0], args[1])
		},
	}
	f.schemaFlags.register(cmd.Flags())
	cmd.Flags().IntVar(&f.count, "count", 1, "publish `N` times (0: until interrupted)")
	cmd.Flags().Float64Var(&f.rate, "rate", 0, "publish at `HZ` messages per second (0: back to back)")
	cmd.Flags().DurationVar(&f.wait, "wait", DefaultWait, "wait this long for a subscriber before the first message")
	return cmd
}

func runPub(ctx context.Context, st *state, f pubFlags, topic, text string) error {
	conn, err := st.connect(ctx)
	if err != nil {
		return fmt.Errorf("pub: %w", err)
	}
	defer conn.Close()
	res, err := newResolver(ctx, conn.Plexus, f.schemaFlags)
	if err != nil {
		return fmt.Errorf("pub: %w", err)
	}
	defer res.Close()
	tt, err := res.resolve(ctx, topic, st.conn.Timeout)
	if err != nil {
		return fmt.Errorf("pub: %w", err)
	}
	payload, err := encodeJSON(tt, []byte(text), dynamicResolver(res))
	if err != nil {
		return fmt.Errorf("pub: %s: %w", topic, err)
	}
	if err := conn.Plexus.DescribeTopic(topic, tt.md); err != nil {
		return fmt.Errorf("pub: %w", err)
	}
	if f.wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, f.wait)
		err := conn.Plexus.WaitForInterest(wctx, topic)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("pub: %w", err)
		}
	}
	var tick *time.Ticker
	if f.rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / f.rate))
		defer tick.Stop()
	}
	for i := 0; f.count == 0 || i < f.count; i++ {
		if i > 0 && tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return nil
			}
		}
		if err := conn.Plexus.PublishRaw(ctx, topic, payload); err != nil {
			if interrupted(ctx, err) {
				return nil
			}
			return fmt.Errorf("pub: %w", err)
		}
	}
	select {
	case <-time.After(linger):
	case <-ctx.Done():
	}
	return nil
}

// encodeJSON turns protojson text into a payload of the topic's codec.
func encodeJSON(tt topicType, text []byte, types typeResolver) ([]byte, error) {
	if err := checkJSON(text, tt.md); err != nil {
		return nil, fmt.Errorf("JSON for %s: %w", tt.md.FullName(), err)
	}
	msg := dynamicpb.NewMessage(tt.md)
	if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal(text, msg); err != nil {
		return nil, fmt.Errorf("JSON for %s: %w", tt.md.FullName(), err)
	}
	if tt.codec == mcapio.CodecJSON {
		return protojson.MarshalOptions{Resolver: types}.Marshal(msg)
	}
	return proto.Marshal(msg)
}
