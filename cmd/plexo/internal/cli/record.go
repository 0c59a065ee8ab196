package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
)

// describeTimeout bounds asking the system for one type's descriptors.
const describeTimeout = 3 * time.Second

type recordFlags struct {
	output      string
	duration    time.Duration
	maxBytes    int64
	compression string
	chunkSize   int64
}

func newRecordCmd(st *state) *cobra.Command {
	var f recordFlags
	cmd := &cobra.Command{
		Use:   "record -o FILE.mcap [TOPIC...]",
		Short: "Record topics into an MCAP file",
		Long: `record writes every topic of the system (or the named ones, topics appearing
later included; a name ending in "." records a whole namespace) into an MCAP
file that Foxglove and the mcap tools open: one schema per message type
(encoding protobuf, data its FileDescriptorSet), one channel per topic
(message encoding protobuf, or json for json-codec topics), each payload as
received, log time = receive time. Chunks are zstd-compressed and indexed.

It stops on SIGINT or SIGTERM, after --duration or at --max-bytes, and
closes the file complete and indexed. It shows a live line on stderr when
that is a terminal, and a summary at the end.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 record -o run.mcap
  plexo --multicast eth0 record -o temps.mcap brewery.sensors.v1.Temperature.proto --duration 10m
  plexo --nats nats://127.0.0.1:4222 record -o acme.mcap acme. --max-bytes 1000000000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output == "" {
				return usageError(cmd, "-o FILE.mcap is required")
			}
			for _, topic := range args {
				if strings.HasSuffix(topic, ".") {
					continue
				}
				if _, ok := mcapio.TopicCodec(topic); !ok {
					return usageError(cmd, "%q is not a plexo topic name (<namespace>.<Message>.proto or .json) nor a namespace ending in \".\"", topic)
				}
			}
			return runRecord(cmd.Context(), st, f, args)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the recording to `FILE.mcap`")
	cmd.Flags().DurationVar(&f.duration, "duration", 0, "stop after this long (0: until interrupted)")
	cmd.Flags().Int64Var(&f.maxBytes, "max-bytes", 0, "stop once the file reaches about `N` bytes (0: no limit)")
	cmd.Flags().StringVar(&f.compression, "compression", "zstd", "chunk compression: zstd, lz4 or none")
	cmd.Flags().Int64Var(&f.chunkSize, "chunk-size", mcapio.DefaultChunkSize, "close chunks at `N` uncompressed bytes (and at least every second)")
	return cmd
}

// recorder writes what a Plexus receives into an MCAP writer.
type recorder struct {
	w        *mcapio.Writer
	dir      *plexo.Directory
	maxBytes int64
	stop     context.CancelFunc

	mu     sync.Mutex // serializes adding channels
	failed atomic.Pointer[error]
}

// record is the write path: one message, as received. Its log time is when
// the Plexus received it, not now: a message that waited in the queue while
// the first of its topic fetched the type's descriptor keeps its spacing.
func (r *recorder) record(ctx context.Context, m *plexo.RawMessage) {
	now := uint64(m.Received.UnixNano())
	ok, err := r.w.Write(m.Topic, m.Payload, now)
	if err == nil && !ok {
		if err = r.addChannel(ctx, m.Topic, m.Codec); err == nil {
			_, err = r.w.Write(m.Topic, m.Payload, now)
		}
	}
	if err != nil {
		r.fail(err)
		return
	}
	if r.maxBytes > 0 && r.w.Size() >= r.maxBytes {
		r.stop()
	}
}

func (r *recorder) fail(err error) {
	r.failed.CompareAndSwap(nil, &err)
	r.stop()
}

// addChannel adds the channel of a topic with the schema of its type, asking
// the system for the type's descriptors. A type nobody shares gives a
// channel without schema: the payloads are still recorded.
func (r *recorder) addChannel(ctx context.Context, topic, codec string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w.HasChannel(topic) {
		return nil
	}
	if c, ok := mcapio.TopicCodec(topic); ok && codec == "" {
		codec = c
	}
	var (
		name protoreflect.FullName
		set  []byte
	)
	info, ok := r.dir.Lookup(topic)
	if !ok || info.Message == "" {
		// A message came before its publisher's directory entry: wait a
		// little for the entry.
		wctx, cancel := context.WithTimeout(ctx, describeTimeout)
		for (!ok || info.Message == "") && wctx.Err() == nil {
			changed := r.dir.Changed()
			if info, ok = r.dir.Lookup(topic); ok && info.Message != "" {
				break
			}
			select {
			case <-changed:
			case <-wctx.Done():
			}
		}
		cancel()
	}
	if ok && info.Message != "" {
		name = info.Message
		if info.Codec != "" {
			codec = info.Codec
		}
		dctx, cancel := context.WithTimeout(ctx, describeTimeout)
		fds, err := r.dir.FileDescriptorSet(dctx, name)
		cancel()
		if err == nil {
			// Checked, so that the file holds only schemas readers can use.
			if _, err := schemas.FilesOf(fds); err == nil {
				set, _ = proto.MarshalOptions{Deterministic: true}.Marshal(fds)
			}
		}
	}
	return r.w.AddChannel(topic, codec, name, set)
}

// wanted reports whether topic is recorded.
func wanted(topic string, filter []string) bool {
	if strings.HasPrefix(topic, "plexo.v1.") {
		return false
	}
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f == topic || (strings.HasSuffix(f, ".") && strings.HasPrefix(topic, f)) {
			return true
		}
	}
	return false
}

func runRecord(ctx context.Context, st *state, f recordFlags, topics []string) error {
	conn, err := st.connect(ctx)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer conn.Close()
	dir, err := conn.Plexus.WatchDirectory(ctx)
	if err != nil {
		return fmt.Errorf("record: directory: %w", err)
	}
	defer dir.Close()
	w, err := mcapio.Create(f.output, mcapio.WriterOptions{Compression: f.compression, ChunkSize: f.chunkSize})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	defer w.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if f.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(runCtx, f.duration)
		defer cancel()
	}
	rec := &recorder{w: w, dir: dir, maxBytes: f.maxBytes, stop: stop}

	// Channels are added as topics appear in the directory, so that the
	// write path rarely waits for descriptors.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			changed := dir.Changed()
			for _, info := range dir.Topics() {
				if wanted(info.Topic, topics) && info.Message != "" && len(info.Publishers) > 0 && !w.HasChannel(info.Topic) {
					if err := rec.addChannel(runCtx, info.Topic, info.Codec); err != nil {
						rec.fail(err)
						return
					}
				}
			}
			select {
			case <-changed:
			case <-runCtx.Done():
				return
			}
		}
	}()

	start := time.Now()
	var closers []func() error
	subOpts := []plexo.SubscribeOption{plexo.WithOverflow(plexo.OverflowBlock), plexo.WithQueueSize(8192)}
	subscribe := func() error {
		if len(topics) == 0 {
			ns, err := conn.Plexus.SubscribeNamespace(runCtx, "", rec.record, subOpts...)
			if err != nil {
				return err
			}
			closers = append(closers, ns.Close)
			return nil
		}
		for _, topic := range topics {
			if strings.HasSuffix(topic, ".") {
				ns, err := conn.Plexus.SubscribeNamespace(runCtx, topic, rec.record, subOpts...)
				if err != nil {
					return err
				}
				closers = append(closers, ns.Close)
				continue
			}
			sub, err := conn.Plexus.SubscribeRaw(runCtx, topic, rec.record, subOpts...)
			if err != nil {
				return err
			}
			closers = append(closers, sub.Close)
		}
		return nil
	}
	err = subscribe()
	prog := newProgress(st.Err, "recording "+f.output)
	if err == nil {
		tick := time.NewTicker(progressInterval)
	loop:
		for {
			select {
			case <-tick.C:
				msgs, bytes := w.Counts()
				prog.live(msgs, bytes, -1)
				if ferr := w.Flush(); ferr != nil {
					rec.fail(ferr)
				}
			case <-runCtx.Done():
				break loop
			}
		}
		tick.Stop()
	}
	for _, c := range closers {
		_ = c()
	}
	stop()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if cerr := w.Close(); cerr != nil {
		return fmt.Errorf("record: %w", cerr)
	}
	msgs, bytes := w.Counts()
	prog.done(fmt.Sprintf("recorded %d messages (%s) in %s to %s", msgs, humanBytes(float64(bytes)), time.Since(start).Round(time.Millisecond), f.output))
	if p := rec.failed.Load(); p != nil {
		return fmt.Errorf("record: %w", *p)
	}
	return nil
}
