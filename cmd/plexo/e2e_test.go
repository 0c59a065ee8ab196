package main_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

const (
	readingTopic = plexotestv1.ReadingTopicName
	noteTopic    = plexotestv1.NoteTopicName
)

// A network tells how the peers and the command reach each other.
type network struct {
	// peer returns the connection flags of a new peer.
	peer func() []string
	// plexo returns the command's connection flags to reach p.
	plexo func(p *peer) []string
}

func tcpNetwork() network {
	return network{
		peer:  func() []string { return []string{"--tcp-listen", "127.0.0.1:0"} },
		plexo: func(p *peer) []string { return []string{"--tcp-dial", p.addr} },
	}
}

// sharedNetwork is a network where every process uses the same flags.
func sharedNetwork(flags ...string) network {
	return network{
		peer:  func() []string { return flags },
		plexo: func(*peer) []string { return flags },
	}
}

func TestTCP(t *testing.T) { scenario(t, tcpNetwork()) }

func TestNATS(t *testing.T) {
	s := natsServer(t, nil)
	scenario(t, sharedNetwork("--nats", s.ClientURL()))
}

func TestMulticast(t *testing.T) {
	if !netns(t) {
		return
	}
	scenario(t, sharedNetwork("--multicast", "lo"))
}

func natsServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// scenario runs every subcommand against test peers over one network.
func scenario(t *testing.T, nw network) {
	a := startPeer(t, append(nw.peer(), "--readings", "-1", "--notes", "-1", "--interval", "20ms", "--sub-notes")...)
	conn := nw.plexo(a)
	run := func(t *testing.T, limit time.Duration, args ...string) result {
		t.Helper()
		return plexo(t, limit, append(args, conn...)...)
	}

	t.Run("topics", func(t *testing.T) {
		r := run(t, 20*time.Second, "topics", "--json", "--rates", "--window", "2s").ok(t)
		rows := map[string]map[string]any{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var row map[string]any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			rows[row["topic"].(string)] = row
		}
		reading, note := rows[readingTopic], rows[noteTopic]
		if reading == nil || note == nil {
			t.Fatalf("topics --json: %s", r.stdout)
		}
		if reading["type"] != "plexotest.v1.Reading" || reading["codec"] != "proto" || reading["publishers"].(float64) != 1 {
			t.Errorf("reading row %v", reading)
		}
		if note["type"] != "plexotest.v1.Note" || note["codec"] != "json" || note["publishers"].(float64) != 1 || note["subscribers"].(float64) != 1 {
			t.Errorf("note row %v", note)
		}
		if rate := reading["msgs_per_sec"].(float64); rate < 5 || rate > 100 {
			t.Errorf("reading rate %v msgs/s, published at 50/s", rate)
		}
		r = run(t, 20*time.Second, "topics").ok(t)
		if !strings.HasPrefix(r.stdout, "TOPIC") || !strings.Contains(r.stdout, readingTopic) || !strings.Contains(r.stdout, "plexotest.v1.Note") {
			t.Errorf("topics table:\n%s", r.stdout)
		}
	})

	t.Run("echo", func(t *testing.T) {
		r := run(t, 20*time.Second, "echo", readingTopic, "-n", "3", "--timeout", "10s").ok(t)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("echo -n 3 printed %d lines: %q", len(lines), r.stdout)
		}
		for _, line := range lines {
			var got plexotestv1.Reading
			if err := protojson.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if want := testpb.Reading(got.GetSeq()); !proto.Equal(&got, want) {
				t.Errorf("echo printed %v, the peer published %v", &got, want)
			}
		}
		r = run(t, 20*time.Second, "echo", noteTopic, "-n", "1", "--format", "text").ok(t)
		var note plexotestv1.Note
		if err := prototext.Unmarshal([]byte(r.stdout), &note); err != nil || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("echo --format text: %q: %v", r.stdout, err)
		}
		if want := testpb.Note(note.GetSeq()); !proto.Equal(&note, want) {
			t.Errorf("echo printed %v, the peer published %v", &note, want)
		}
	})

	t.Run("pub", func(t *testing.T) {
		run(t, 40*time.Second, "pub", noteTopic, `{"text":"from plexo pub","seq":"4242"}`, "--count", "2", "--rate", "20", "--wait", "30s").ok(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := 0
			for _, j := range a.received(noteTopic) {
				var got plexotestv1.Note
				if err := protojson.Unmarshal([]byte(j), &got); err != nil {
					t.Fatal(err)
				}
				if proto.Equal(&got, &plexotestv1.Note{Text: "from plexo pub", Seq: 4242}) {
					n++
				}
			}
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the typed subscriber got %d of the 2 published notes", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("record-replay", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "rec.mcap")
		r := run(t, 30*time.Second, "record", "-o", file, "--duration", "3s").ok(t)
		if !strings.Contains(r.stderr, "recorded ") {
			t.Errorf("no summary: %q", r.stderr)
		}
		recorded := readRecording(t, file)
		if len(recorded[readingTopic]) < 20 || len(recorded[noteTopic]) < 20 {
			t.Fatalf("recorded %d readings and %d notes in 3s at 50/s", len(recorded[readingTopic]), len(recorded[noteTopic]))
		}
		for topic, msgs := range recorded {
			for i := 1; i < len(msgs); i++ {
				if seq(msgs[i]) != seq(msgs[i-1])+1 {
					t.Fatalf("%s: recorded seq %d after %d: a message was lost", topic, seq(msgs[i]), seq(msgs[i-1]))
				}
			}
		}

		t.Run("typescript reader", func(t *testing.T) { checkWithTypeScriptReader(t, file, recorded) })

		a.stop() // so that only the replay publishes
		b := startPeer(t, append(nw.peer(), "--sub-readings", "--sub-notes")...)
		// replay waits for its subscribers' interest (5 s by default) before
		// the first message; on a loaded machine it may take longer to come.
		r = plexo(t, 60*time.Second, append([]string{"replay", file, "--speed", "4", "--wait", "30s"}, nw.plexo(b)...)...).ok(t)
		if !strings.Contains(r.stderr, "replayed ") {
			t.Errorf("no summary: %q", r.stderr)
		}
		for topic, msgs := range recorded {
			got := b.waitReceived(t, topic, len(msgs), 20*time.Second)
			if len(got) != len(msgs) {
				t.Fatalf("%s: replay delivered %d messages, recorded %d", topic, len(got), len(msgs))
			}
			for i, j := range got {
				m := msgs[i].ProtoReflect().New().Interface()
				if err := protojson.Unmarshal([]byte(j), m); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(m, msgs[i]) {
					t.Fatalf("%s: replayed message %d is %v, recorded %v", topic, i, m, msgs[i])
				}
			}
		}

		// Only the named topic.
		c := startPeer(t, append(nw.peer(), "--sub-readings", "--sub-notes")...)
		plexo(t, 60*time.Second, append([]string{"replay", file, noteTopic, "--speed", "0", "--wait", "30s"}, nw.plexo(c)...)...).ok(t)
		c.waitReceived(t, noteTopic, len(recorded[noteTopic]), 20*time.Second)
		if n := len(c.received(readingTopic)); n != 0 {
			t.Fatalf("replay of %s only delivered %d readings", noteTopic, n)
		}
	})
}

func seq(m proto.Message) uint64 {
	switch m := m.(type) {
	case *plexotestv1.Reading:
		return m.GetSeq()
	case *plexotestv1.Note:
		return m.GetSeq()
	}
	return 0
}

// readRecording reads a recording with the mcap library's reader, decodes
// every message with the descriptors of its schema record, checks it is a
// sample message, and returns them by topic in log time order.
func readRecording(t *testing.T, path string) map[string][]proto.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := mcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info, err := r.Info()
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	if info.Header.Library != "plexo" || len(info.ChunkIndexes) == 0 {
		t.Fatalf("header %+v, %d chunk indexes", info.Header, len(info.ChunkIndexes))
	}
	schemaByName := map[string]*mcap.Schema{}
	for _, s := range info.Schemas {
		if s.Encoding != "protobuf" {
			t.Fatalf("schema %s: encoding %q", s.Name, s.Encoding)
		}
		schemaByName[s.Name] = s
	}
	it, err := r.Messages(mcap.UsingIndex(true), mcap.InOrder(mcap.LogTimeOrder))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]proto.Message{}
	var last uint64
	for {
		schema, ch, m, err := it.NextInto(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.LogTime < last || m.PublishTime != m.LogTime {
			t.Fatalf("log time %d after %d, publish time %d", m.LogTime, last, m.PublishTime)
		}
		last = m.LogTime
		var want proto.Message
		switch ch.Topic {
		case readingTopic:
			if ch.MessageEncoding != "protobuf" || schema == nil || schema.Name != "plexotest.v1.Reading" {
				t.Fatalf("channel %+v schema %+v", ch, schema)
			}
			want = &plexotestv1.Reading{}
		case noteTopic:
			if ch.MessageEncoding != "json" || ch.Metadata["plexo.message"] != "plexotest.v1.Note" {
				t.Fatalf("channel %+v", ch)
			}
			schema = schemaByName["plexotest.v1.Note"]
			want = &plexotestv1.Note{}
		default:
			t.Fatalf("recorded topic %s", ch.Topic)
		}
		md, err := schemas.MessageFromSet(schema.Data, protoreflect.FullName(schema.Name))
		if err != nil {
			t.Fatalf("schema %s: %v", schema.Name, err)
		}
		dm := dynamicpb.NewMessage(md)
		if ch.MessageEncoding == "json" {
			err = protojson.Unmarshal(m.Data, dm)
		} else {
			err = proto.Unmarshal(m.Data, dm)
		}
		if err != nil {
			t.Fatalf("%s: message does not decode with its schema: %v", ch.Topic, err)
		}
		b, _ := proto.Marshal(dm)
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatal(err)
		}
		var sample proto.Message = testpb.Note(seq(want))
		if ch.Topic == readingTopic {
			sample = testpb.Reading(seq(want))
		}
		if !proto.Equal(want, sample) {
			t.Fatalf("%s: recorded %v, published %v", ch.Topic, want, sample)
		}
		out[ch.Topic] = append(out[ch.Topic], want)
	}
	return out
}

// TestEchoStartsAPublisherThatWaitsForASubscriber: a publisher that waits for
// a subscriber before its first message (by topic name, so the directory
// cannot name its type until then) is started by echo's interest, and echo
// prints its first messages once the type is known.
func TestEchoStartsAPublisherThatWaitsForASubscriber(t *testing.T) {
	a := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "3", "--interval", "1ms", "--wait-interest")
	r := plexo(t, 30*time.Second, "echo", readingTopic, "-n", "3", "--timeout", "20s", "--tcp-dial", a.addr).ok(t)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("echo -n 3 printed %d lines: %q", len(lines), r.stdout)
	}
	for i, line := range lines {
		var got plexotestv1.Reading
		if err := protojson.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if want := testpb.Reading(uint64(i)); !proto.Equal(&got, want) {
			t.Errorf("message %d: echo printed %v, the peer published %v", i, &got, want)
		}
	}
}
