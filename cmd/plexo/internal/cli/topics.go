package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexo-go/plexo"
)

// DefaultWindow is how long topics collects the directory and rates.
const DefaultWindow = 2 * time.Second

type topicsFlags struct {
	rates  bool
	window time.Duration
	json   bool
}

func newTopicsCmd(st *state) *cobra.Command {
	var f topicsFlags
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "List the topics of the system",
		Long: `topics collects the directory of the system for --window and prints a table
of its topics: topic, message type, codec, and how many processes publish
and subscribe to each (the command itself left out). --rates adds the
messages and bytes per second measured over the window, by subscribing to
every topic. --json prints one JSON object per topic instead of the table.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 topics
  plexo --multicast eth0 topics --rates --window 5s
  plexo --nats nats://127.0.0.1:4222 topics --json | jq -r .topic`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.window <= 0 {
				return usageError(cmd, "--window %v: want more than 0", f.window)
			}
			if st.conn.Empty() {
				return usageError(cmd, noTransport)
			}
			return runTopics(cmd.Context(), st, f)
		},
	}
	cmd.Flags().BoolVar(&f.rates, "rates", false, "measure messages/s and bytes/s of each topic over the window")
	cmd.Flags().DurationVar(&f.window, "window", DefaultWindow, "collect the directory (and rates) for this long")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object per topic")
	return cmd
}

// topicRow is one line of the table, and the JSON object of --json.
type topicRow struct {
	Topic       string   `json:"topic"`
	Type        string   `json:"type"`
	Codec       string   `json:"codec"`
	Publishers  int      `json:"publishers"`
	Subscribers int      `json:"subscribers"`
	MsgsPerSec  *float64 `json:"msgs_per_sec,omitempty"`
	BytesPerSec *float64 `json:"bytes_per_sec,omitempty"`
}

type counter struct{ msgs, bytes uint64 }

func runTopics(ctx context.Context, st *state, f topicsFlags) error {
	conn, err := st.connect(ctx)
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	defer conn.Close()
	p := conn.Plexus
	dir, err := p.WatchDirectory(ctx)
	if err != nil {
		return fmt.Errorf("topics: directory: %w", err)
	}
	defer dir.Close()

	var (
		mu     sync.Mutex
		counts = map[string]*counter{}
	)
	start := time.Now()
	if f.rates {
		ns, err := p.SubscribeNamespace(ctx, "", func(_ context.Context, m *plexo.RawMessage) {
			mu.Lock()
			c := counts[m.Topic]
			if c == nil {
				c = new(counter)
				counts[m.Topic] = c
			}
			c.msgs++
			c.bytes += uint64(len(m.Payload))
			mu.Unlock()
		})
		if err != nil {
			return fmt.Errorf("topics: %w", err)
		}
		defer ns.Close()
	}
	select {
	case <-time.After(f.window):
	case <-ctx.Done():
		return nil
	}
	elapsed := time.Since(start).Seconds()

	self := p.ID()
	var rows []topicRow
	for _, info := range dir.Topics() {
		if strings.HasPrefix(info.Topic, "plexo.v1.") {
			continue
		}
		row := topicRow{
			Topic:       info.Topic,
			Type:        string(info.Message),
			Codec:       info.Codec,
			Publishers:  others(info.Publishers, self),
			Subscribers: others(info.Subscribers, self),
		}
		if row.Publishers == 0 && row.Subscribers == 0 {
			continue // only the command itself
		}
		if f.rates {
			mu.Lock()
			c := counts[info.Topic]
			var m, b float64
			if c != nil {
				m, b = float64(c.msgs)/elapsed, float64(c.bytes)/elapsed
			}
			mu.Unlock()
			row.MsgsPerSec, row.BytesPerSec = &m, &b
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b topicRow) int { return strings.Compare(a.Topic, b.Topic) })

	if f.json {
		enc := json.NewEncoder(st.Out)
		for _, row := range rows {
			if err := enc.Encode(row); err != nil {
				return fmt.Errorf("topics: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(st.Out, 0, 4, 2, ' ', 0)
	header := "TOPIC\tTYPE\tCODEC\tPUBLISHERS\tSUBSCRIBERS"
	if f.rates {
		header += "\tMSGS/S\tBYTES/S"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		typ := r.Type
		if typ == "" {
			typ = "?"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%d", r.Topic, typ, r.Codec, r.Publishers, r.Subscribers)
		if f.rates {
			line += fmt.Sprintf("\t%.1f\t%s", *r.MsgsPerSec, humanBytes(*r.BytesPerSec))
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	return nil
}

// others counts the IDs other than self.
func others(ids []uint64, self uint64) int {
	n := 0
	for _, id := range ids {
		if id != self {
			n++
		}
	}
	return n
}
