package mcapio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/foxglove/mcap/go/mcap"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/plexo-go/plexo/cmd/plexo/internal/schemas"
)

// A Channel is one replayable channel of a file: a plexo topic and the
// descriptor of its messages.
type Channel struct {
	ID      uint16
	Topic   string
	Codec   string // CodecProto or CodecJSON
	Message protoreflect.MessageDescriptor
}

// A File is an MCAP file opened for reading, with its replayable channels.
type File struct {
	path   string
	closer io.Closer // the file Open opened
	r      *mcap.Reader
	info   *mcap.Info

	// Channels are the replayable channels by channel ID.
	Channels map[uint16]*Channel
	// Skipped says, for each topic that does not replay, why.
	Skipped map[string]string
}

// Open opens an MCAP file and resolves its channels from its summary. A
// file that is not MCAP, is truncated (no summary, as when its writer was
// killed) or corrupt is an error naming it.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	file, err := NewFile(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	file.closer = f
	return file, nil
}

// NewFile reads an MCAP file from r as [Open] does; name is what errors
// call it. Closing the File does not close r.
func NewFile(name string, r io.ReadSeeker) (file *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			file, err = nil, fmt.Errorf("%s: corrupt MCAP file: %v", name, p)
		}
	}()
	mr, err := mcap.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not an MCAP file: %w", name, err)
	}
	info, err := mr.Info()
	if err != nil {
		mr.Close()
		return nil, fmt.Errorf("%s: truncated or corrupt MCAP file (no valid summary): %w", name, err)
	}
	if err := checkChunks(r, info); err != nil {
		mr.Close()
		return nil, fmt.Errorf("%s: corrupt MCAP file: %w", name, err)
	}
	file = &File{path: name, r: mr, info: info, Channels: map[uint16]*Channel{}, Skipped: map[string]string{}}
	file.resolve()
	return file, nil
}

// MaxChunkSize bounds the uncompressed size of one chunk that a file may
// declare: the reader allocates what chunks declare.
const MaxChunkSize = 1 << 30

// checkChunks checks the chunk indexes against the file's size and
// MaxChunkSize, before the mcap reader allocates what they declare.
func checkChunks(r io.Seeker, info *mcap.Info) error {
	pos, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := r.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	for _, ci := range info.ChunkIndexes {
		end := ci.ChunkStartOffset + ci.ChunkLength
		if end < ci.ChunkStartOffset || end > uint64(size) {
			return fmt.Errorf("chunk at %d of %d bytes lies beyond the end of the file (%d bytes)", ci.ChunkStartOffset, ci.ChunkLength, size)
		}
		if ci.UncompressedSize > MaxChunkSize {
			return fmt.Errorf("chunk at %d declares %d uncompressed bytes, more than %d", ci.ChunkStartOffset, ci.UncompressedSize, MaxChunkSize)
		}
	}
	return nil
}

// resolve finds the plexo topic and descriptor of every channel.
func (file *File) resolve() {
	bySchema := map[uint16]protoreflect.MessageDescriptor{}
	schemaErr := map[uint16]error{}
	descriptor := func(s *mcap.Schema) (protoreflect.MessageDescriptor, error) {
		if md, ok := bySchema[s.ID]; ok {
			return md, nil
		}
		if err, ok := schemaErr[s.ID]; ok {
			return nil, err
		}
		md, err := schemas.MessageFromSet(s.Data, protoreflect.FullName(s.Name))
		if err != nil {
			schemaErr[s.ID] = err
			return nil, err
		}
		bySchema[s.ID] = md
		return md, nil
	}
	byName := func(name string) *mcap.Schema {
		for _, s := range file.info.Schemas {
			if s.Name == name && s.Encoding == "protobuf" {
				return s
			}
		}
		return nil
	}
	for id, ch := range file.info.Channels {
		codec, ok := TopicCodec(ch.Topic)
		if !ok {
			file.Skipped[ch.Topic] = "not a plexo topic name"
			continue
		}
		var schema *mcap.Schema
		switch {
		case ch.MessageEncoding == "protobuf" && codec == CodecProto:
			schema = file.info.Schemas[ch.SchemaID]
			if schema != nil && schema.Encoding != "protobuf" {
				schema = nil
			}
		case ch.MessageEncoding == "json" && codec == CodecJSON:
			if s := file.info.Schemas[ch.SchemaID]; s != nil && s.Encoding == "protobuf" {
				schema = s
			} else {
				schema = byName(ch.Metadata[MetadataMessage])
			}
		default:
			file.Skipped[ch.Topic] = fmt.Sprintf("message encoding %q does not fit codec %q", ch.MessageEncoding, codec)
			continue
		}
		if schema == nil {
			file.Skipped[ch.Topic] = "no protobuf schema"
			continue
		}
		md, err := descriptor(schema)
		if err != nil {
			file.Skipped[ch.Topic] = fmt.Sprintf("schema %s: %v", schema.Name, err)
			continue
		}
		file.Channels[id] = &Channel{ID: id, Topic: ch.Topic, Codec: codec, Message: md}
	}
}

// Topics returns the replayable topics, sorted.
func (file *File) Topics() []string {
	var topics []string
	for _, ch := range file.Channels {
		topics = append(topics, ch.Topic)
	}
	sort.Strings(topics)
	return topics
}

// Bounds returns the first and last log times of the file, in nanoseconds,
// and its message count.
func (file *File) Bounds() (start, end, count uint64) {
	if s := file.info.Statistics; s != nil {
		return s.MessageStartTime, s.MessageEndTime, s.MessageCount
	}
	return 0, 0, 0
}

// Messages calls fn with every message of the replayable channels (of
// topics only, unless topics is empty) in log time order. msg and its Data
// are reused after fn returns. An error of fn stops the walk and is returned
// as is; a corrupt chunk is an error naming the file.
func (file *File) Messages(topics []string, fn func(ch *Channel, msg *mcap.Message) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: corrupt MCAP file: %v", file.path, p)
		}
	}()
	opts := []mcap.ReadOpt{mcap.UsingIndex(true), mcap.InOrder(mcap.LogTimeOrder)}
	if len(topics) > 0 {
		opts = append(opts, mcap.WithTopics(topics))
	}
	it, err := file.r.Messages(opts...)
	if err != nil {
		return fmt.Errorf("%s: corrupt MCAP file: %w", file.path, err)
	}
	var msg mcap.Message
	for {
		_, ch, m, err := it.NextInto(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: corrupt MCAP file: %w", file.path, err)
		}
		c := file.Channels[ch.ID]
		if c == nil {
			continue
		}
		if err := fn(c, m); err != nil {
			return err
		}
	}
}

// Close closes the file.
func (file *File) Close() error {
	file.r.Close()
	if file.closer != nil {
		return file.closer.Close()
	}
	return nil
}
