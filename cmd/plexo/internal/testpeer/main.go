// Command testpeer is the plexo command tests' own plexo program, on the
// generated types of internal/testpb: it publishes sample readings and notes
// and prints what it receives, as "TOPIC JSON" lines on stdout, over the
// same connection flags as the command. It prints "listen ADDR" for each
// --tcp-listen and then "ready" once its subscriptions are active, and runs
// until its stdin closes or a signal.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/cli"
	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "testpeer: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		conn         cli.ConnFlags
		readings     = pflag.Int("readings", 0, "publish this many readings (-1: until stopped)")
		notes        = pflag.Int("notes", 0, "publish this many notes (-1: until stopped)")
		interval     = pflag.Duration("interval", 20*time.Millisecond, "pause between two publications")
		waitInterest = pflag.Bool("wait-interest", false, "wait for a subscriber of each published topic first")
		subReadings  = pflag.Bool("sub-readings", false, "subscribe to readings and print them")
		subNotes     = pflag.Bool("sub-notes", false, "subscribe to notes and print them")
		private      = pflag.Bool("private", false, "share no descriptors (plexo.WithDescriptorSharing(false))")
	)
	conn.Register(pflag.CommandLine)
	pflag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // a closed stdin stops the peer
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	var opts []plexo.PlexusOption
	if *private {
		opts = append(opts, plexo.WithDescriptorSharing(false))
	}
	c, err := cli.Connect(ctx, conn, nil, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	p := c.Plexus

	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	print := func(topic string, m proto.Message) {
		b, _ := protojson.Marshal(m)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s %s\n", topic, b)
		out.Flush()
	}
	for _, a := range c.Listeners {
		fmt.Fprintf(out, "listen %s\n", a)
	}
	if *subReadings {
		sub, err := plexotestv1.ReadingTopic.Subscribe(ctx, p, func(_ context.Context, r *plexotestv1.Reading) {
			print(plexotestv1.ReadingTopicName, r)
		}, plexo.WithOverflow(plexo.OverflowBlock))
		if err != nil {
			return err
		}
		defer sub.Close()
	}
	if *subNotes {
		sub, err := plexotestv1.NoteTopic.Subscribe(ctx, p, func(_ context.Context, n *plexotestv1.Note) {
			print(plexotestv1.NoteTopicName, n)
		}, plexo.WithOverflow(plexo.OverflowBlock))
		if err != nil {
			return err
		}
		defer sub.Close()
	}
	fmt.Fprintln(out, "ready")
	out.Flush()

	var wg sync.WaitGroup
	publish := func(n int, topic string, pub func(i uint64) error) {
		if n == 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *waitInterest {
				if err := p.WaitForInterest(ctx, topic); err != nil {
					return
				}
			}
			for i := 0; n < 0 || i < n; i++ {
				if err := pub(uint64(i)); err != nil {
					if ctx.Err() == nil {
						fmt.Fprintf(os.Stderr, "testpeer: %v\n", err)
					}
					return
				}
				select {
				case <-time.After(*interval):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	publish(*readings, plexotestv1.ReadingTopicName, func(i uint64) error {
		return plexotestv1.PublishReading(ctx, p, testpb.Reading(i))
	})
	publish(*notes, plexotestv1.NoteTopicName, func(i uint64) error {
		return plexotestv1.PublishNote(ctx, p, testpb.Note(i))
	})
	wg.Wait()
	mu.Lock()
	fmt.Fprintln(out, "published")
	out.Flush()
	mu.Unlock()
	<-ctx.Done()
	return nil
}
