package mcapio

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/foxglove/mcap/go/mcap"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Library is the library field of the MCAP header the command writes.
const Library = "plexo"

// Profile is the profile field of the MCAP header: none, as MCAP's
// registry has no profile for plain protobuf recordings.
const Profile = ""

// DefaultChunkSize is the uncompressed size at which a chunk closes.
const DefaultChunkSize = 1 << 20

// DefaultFlushInterval bounds how long a written message may stay in memory
// before its chunk is closed and written to the file.
const DefaultFlushInterval = time.Second

// ErrClosed reports a write after Close.
var ErrClosed = errors.New("mcapio: writer closed")

// WriterOptions configure [Create]. The zero value means the defaults.
type WriterOptions struct {
	// Compression of chunks: "zstd" (default), "lz4" or "none".
	Compression string
	// ChunkSize is DefaultChunkSize when zero.
	ChunkSize int64
	// FlushInterval is DefaultFlushInterval when zero.
	FlushInterval time.Duration
}

// A Writer records messages into an MCAP file: chunked, compressed and
// indexed once closed. Its methods are safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	file     *os.File
	buf      *bufio.Writer
	w        *mcap.Writer
	opts     *mcap.WriterOptions
	chunk    int64
	interval time.Duration

	schemas  map[protoreflect.FullName]uint16
	channels map[string]uint16
	seqs     []uint32 // per channel id

	msg       mcap.Message // reused for every message
	lastFlush int64        // receive time of the last flush, ns
	offset    uint64       // file offset at the last write
	pending   int64        // uncompressed bytes since the file offset last moved
	messages  uint64
	bytes     uint64
	closed    bool
}

// Create creates (or truncates) path and writes the MCAP header.
func Create(path string, o WriterOptions) (*Writer, error) {
	compression := mcap.CompressionZSTD
	switch o.Compression {
	case "", "zstd":
	case "lz4":
		compression = mcap.CompressionLZ4
	case "none":
		compression = mcap.CompressionNone
	default:
		return nil, fmt.Errorf("mcapio: compression %q: want zstd, lz4 or none", o.Compression)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("mcapio: %w", err)
	}
	buf := bufio.NewWriterSize(f, 64<<10)
	opts := &mcap.WriterOptions{
		// No CRCs (optional in MCAP): they cost a tenth of the write
		// path, and zstd frames carry their own checksum.
		IncludeCRC:      false,
		OverrideLibrary: true,
		Chunked:         true,
		ChunkSize:       o.ChunkSize,
		Compression:     compression,
		// The fastest level: record must keep up with the transports.
		CompressionLevel: mcap.CompressionLevelFastest,
	}
	if compression == mcap.CompressionZSTD {
		zc, err := newChunkZstd()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("mcapio: zstd: %w", err)
		}
		opts.Compressor = mcap.NewCustomCompressor(mcap.CompressionZSTD, zc)
	}
	w, err := mcap.NewWriter(buf, opts)
	if err == nil {
		err = w.WriteHeader(&mcap.Header{Profile: Profile, Library: Library})
	}
	if err == nil {
		err = buf.Flush()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mcapio: %s: %w", path, err)
	}
	return &Writer{
		file:      f,
		buf:       buf,
		w:         w,
		opts:      opts,
		chunk:     o.ChunkSize,
		interval:  o.FlushInterval,
		schemas:   make(map[protoreflect.FullName]uint16),
		channels:  make(map[string]uint16),
		seqs:      []uint32{0},
		lastFlush: time.Now().UnixNano(),
	}, nil
}

// HasChannel reports whether topic has a channel already.
func (w *Writer) HasChannel(topic string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.channels[topic]
	return ok
}

// AddChannel adds the channel of a topic, and the schema record of its
// message type unless written already. fileSet is the serialized
// self-contained FileDescriptorSet of message; with message "" or fileSet
// nil the channel has no schema. Adding a topic twice does nothing.
func (w *Writer) AddChannel(topic, codec string, message protoreflect.FullName, fileSet []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if _, ok := w.channels[topic]; ok {
		return nil
	}
	if len(w.seqs) > 0xffff {
		return fmt.Errorf("mcapio: channel %s: too many channels", topic)
	}
	var schemaID uint16
	if message != "" && fileSet != nil {
		id, ok := w.schemas[message]
		if !ok {
			id = uint16(len(w.schemas) + 1)
			if err := w.w.WriteSchema(&mcap.Schema{ID: id, Name: string(message), Encoding: "protobuf", Data: fileSet}); err != nil {
				return fmt.Errorf("mcapio: schema %s: %w", message, err)
			}
			w.schemas[message] = id
		}
		schemaID = id
	}
	ch := &mcap.Channel{
		ID:              uint16(len(w.seqs)),
		Topic:           topic,
		MessageEncoding: "protobuf",
		SchemaID:        schemaID,
		Metadata:        map[string]string{},
	}
	if codec == CodecJSON {
		ch.MessageEncoding = "json"
		ch.SchemaID = 0
		if message != "" {
			ch.Metadata[MetadataMessage] = string(message)
		}
	}
	if err := w.w.WriteChannel(ch); err != nil {
		return fmt.Errorf("mcapio: channel %s: %w", topic, err)
	}
	w.channels[topic] = ch.ID
	w.seqs = append(w.seqs, 0)
	return nil
}

// Write records one message of a topic whose channel exists, with its
// receive time as log time (and publish time, plexo carrying none); the
// receive times also pace the flushes of chunks (see WriterOptions). The
// payload is copied before Write returns. It reports false if the topic has
// no channel yet. It does not allocate on its own.
func (w *Writer) Write(topic string, payload []byte, receivedNanos uint64) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false, ErrClosed
	}
	id, ok := w.channels[topic]
	if !ok {
		return false, nil
	}
	w.seqs[id]++
	w.msg = mcap.Message{ChannelID: id, Sequence: w.seqs[id], LogTime: receivedNanos, PublishTime: receivedNanos, Data: payload}
	now := int64(receivedNanos)
	flush := now-w.lastFlush >= int64(w.interval)
	if flush {
		// mcap.Writer closes a chunk when it outgrows ChunkSize and has no
		// other way to close one early: lower the bar for this message.
		w.opts.ChunkSize = -1
	}
	err := w.w.WriteMessage(&w.msg)
	w.msg.Data = nil
	if flush {
		w.opts.ChunkSize = w.chunk
		w.lastFlush = now
		if err == nil {
			err = w.buf.Flush()
		}
	}
	if err != nil {
		return true, fmt.Errorf("mcapio: write %s: %w", topic, err)
	}
	w.messages++
	w.bytes += uint64(len(payload))
	if off := w.w.Offset(); off != w.offset {
		w.offset, w.pending = off, 0
	} else {
		w.pending += int64(len(payload)) + 31
	}
	return true, nil
}

// Flush writes the buffered file bytes (not the open chunk) to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("mcapio: flush: %w", err)
	}
	return nil
}

// Counts returns the messages and payload bytes written so far.
func (w *Writer) Counts() (messages, bytes uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.messages, w.bytes
}

// Size estimates the size of the file once closed: what is written plus
// the uncompressed size of the open chunk.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int64(w.w.Offset()) + w.pending
}

// Close writes the last chunk, the summary and the footer, and closes the
// file, which is then complete and indexed. It is safe to repeat.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.w.Close()
	if ferr := w.buf.Flush(); err == nil {
		err = ferr
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mcapio: close %s: %w", w.file.Name(), err)
	}
	return nil
}
