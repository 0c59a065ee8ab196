package main_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// tsReaderDir holds the check of recordings with the TypeScript MCAP reader
// (@mcap/core, as Foxglove's tools read MCAP): read.mjs, and its
// node_modules once `npm ci` ran there, as .ci/run does.
const tsReaderDir = "testdata/mcapts"

// requireTSReaderEnv, when set, makes a missing node or node_modules a
// failure instead of a skip; .ci/run sets it where `npm ci` succeeded.
const requireTSReaderEnv = "PLEXO_REQUIRE_MCAP_TS"

// checkWithTypeScriptReader reads a recording with the TypeScript MCAP
// reader, its indexed and its streaming reader, and checks that it decodes
// every message, with protobufjs from the schema's FileDescriptorSet, to
// the messages the mcap library's Go reader read (recorded, per topic).
func checkWithTypeScriptReader(t *testing.T, path string, recorded map[string][]proto.Message) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(tsReaderDir, "node_modules", "@mcap", "core"))
	}
	if err != nil {
		if os.Getenv(requireTSReaderEnv) != "" {
			t.Fatalf("the TypeScript MCAP reader is not installed (%v): run npm ci in cmd/plexo/%s", err, tsReaderDir)
		}
		t.Skipf("the TypeScript MCAP reader is not installed (%v): npm ci in cmd/plexo/%s runs this check", err, tsReaderDir)
	}
	cmd := exec.Command(node, "read.mjs", path)
	cmd.Dir = tsReaderDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read.mjs %s: %v\n%s", path, err, stderr.String())
	}
	got := map[string][][]byte{} // the wire form of each message, per topic
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Topic string  `json:"topic"`
			Proto *string `json:"proto"`
			JSON  *string `json:"json"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("read.mjs printed %q: %v", sc.Text(), err)
		}
		want := recorded[line.Topic]
		if len(want) == 0 {
			t.Fatalf("the TypeScript reader read a message on %s, which the Go reader did not", line.Topic)
		}
		m := want[0].ProtoReflect().New().Interface()
		switch {
		case line.Proto != nil:
			b, err := base64.StdEncoding.DecodeString(*line.Proto)
			if err == nil {
				err = proto.Unmarshal(b, m)
			}
			if err != nil {
				t.Fatalf("%s: what protobufjs decoded and encoded again does not decode: %v", line.Topic, err)
			}
		case line.JSON != nil:
			if err := protojson.Unmarshal([]byte(*line.JSON), m); err != nil {
				t.Fatalf("%s: the JSON the TypeScript reader read does not decode: %v", line.Topic, err)
			}
		default:
			t.Fatalf("read.mjs printed %q", sc.Text())
		}
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		got[line.Topic] = append(got[line.Topic], b)
	}
	for topic, msgs := range recorded {
		if len(got[topic]) != len(msgs) {
			t.Fatalf("%s: the TypeScript reader read %d messages, the Go reader %d", topic, len(got[topic]), len(msgs))
		}
		for i, m := range msgs {
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if !bytes.Equal(b, got[topic][i]) {
				t.Fatalf("%s: message %d reads differently with the TypeScript reader", topic, i)
			}
		}
	}
}
