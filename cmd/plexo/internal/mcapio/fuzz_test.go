package mcapio_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/foxglove/mcap/go/mcap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/plexo-go/plexo/cmd/plexo/internal/mcapio"
)

// FuzzFile feeds arbitrary bytes to the reading path of replay: the MCAP
// summary, the schema records' FileDescriptorSets into descriptors, the
// chunks, and the decoding of messages with those descriptors. Errors are
// fine; panics are not.
func FuzzFile(f *testing.F) {
	path, _ := record(f, 5)
	if good, err := os.ReadFile(path); err == nil {
		f.Add(good)
		f.Add(good[:len(good)-30])
	}
	f.Add([]byte{})
	f.Add(mcap.Magic)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := mcapio.NewFile("fuzz.mcap", bytes.NewReader(data))
		if err != nil {
			return
		}
		defer file.Close()
		_ = file.Messages(nil, func(ch *mcapio.Channel, m *mcap.Message) error {
			dm := dynamicpb.NewMessage(ch.Message)
			if ch.Codec == mcapio.CodecJSON {
				_ = protojson.Unmarshal(m.Data, dm)
			} else {
				_ = proto.Unmarshal(m.Data, dm)
			}
			return nil
		})
	})
}
