package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/spf13/cobra"

	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
)

type replayFlags struct {
	speed float64
	loop  bool
	wait  time.Duration
}

func newReplayCmd(st *state) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE.mcap [TOPIC...]",
		Short: "Publish the messages of an MCAP file on their topics",
		Long: `replay publishes the recorded messages (of the named topics only, if any) on
their topics, in log time order, with their original spacing scaled by
1/--speed. Any MCAP file replays whose channels carry protobuf (schema
encoding protobuf) under a plexo topic name; other channels are skipped.

Each topic is described to the system with the type of its schema, and the
command waits up to --wait for subscribers first, as pub does. It shows a
live line on stderr when that is a terminal, and a summary at the end.`,
		Example: `  plexo --tcp-listen 127.0.0.1:7000 replay run.mcap
  plexo --multicast eth0 replay temps.mcap --speed 10 --loop brewery.sensors.v1.Temperature.proto`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.speed < 0 {
				return usageError(cmd, "--speed %v: want 0 (no pauses) or more", f.speed)
			}
			return runReplay(cmd.Context(), st, f, args[0], args[1:])
		},
	}
	cmd.Flags().Float64Var(&f.speed, "speed", 1, "replay `X` times as fast as recorded (0: no pauses)")
	cmd.Flags().BoolVar(&f.loop, "loop", false, "start over at the end, until interrupted")
	cmd.Flags().DurationVar(&f.wait, "wait", DefaultWait, "wait this long for subscribers before the first message")
	return cmd
}

func runReplay(ctx context.Context, st *state, f replayFlags, path string, topics []string) error {
	file, err := mcapio.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer file.Close()
	available := map[string]*mcapio.Channel{}
	for _, ch := range file.Channels {
		available[ch.Topic] = ch
	}
	for _, topic := range topics {
		if available[topic] == nil {
			if why, ok := file.Skipped[topic]; ok {
				return fmt.Errorf("replay: %s: topic %s does not replay: %s", path, topic, why)
			}
			return fmt.Errorf("replay: %s: no topic %s in the file", path, topic)
		}
	}
	if len(topics) == 0 {
		topics = file.Topics()
	}
	if len(topics) == 0 {
		return fmt.Errorf("replay: %s: no channel carries protobuf under a plexo topic name", path)
	}

	conn, err := st.connect(ctx)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer conn.Close()
	p := conn.Plexus
	for _, topic := range topics {
		if err := p.DescribeTopic(topic, available[topic].Message); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	if f.wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, f.wait)
		var wg sync.WaitGroup
		for _, topic := range topics {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = p.WaitForInterest(wctx, topic)
			}()
		}
		wg.Wait()
		cancel()
		if ctx.Err() != nil {
			return nil
		}
	}

	_, _, total := file.Bounds()
	prog := newProgress(st.Err, "replaying "+path)
	start := time.Now()
	var msgs, bytes uint64
	lastShown := start
	for pass := 0; pass == 0 || f.loop; pass++ {
		var (
			first   uint64
			started bool
		)
		passStart := time.Now()
		err := file.Messages(topics, func(ch *mcapio.Channel, m *mcap.Message) error {
			if !started {
				first, started = m.LogTime, true
			}
			if f.speed > 0 && m.LogTime > first {
				due := passStart.Add(time.Duration(float64(m.LogTime-first) / f.speed))
				if d := time.Until(due); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return ctx.Err()
					}
				}
			}
			if err := p.PublishRaw(ctx, ch.Topic, m.Data); err != nil {
				return err
			}
			msgs++
			bytes += uint64(len(m.Data))
			if now := time.Now(); now.Sub(lastShown) >= progressInterval {
				lastShown = now
				pct := -1.0
				if total > 0 && !f.loop {
					pct = 100 * float64(msgs) / float64(total)
				}
				prog.live(msgs, bytes, pct)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				break
			}
			return fmt.Errorf("replay: %w", err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	select {
	case <-time.After(linger):
	case <-ctx.Done():
	}
	prog.done(fmt.Sprintf("replayed %d messages (%s) on %d topic(s) in %s from %s", msgs, humanBytes(float64(bytes)), len(topics), time.Since(start).Round(time.Millisecond), path))
	return nil
}
