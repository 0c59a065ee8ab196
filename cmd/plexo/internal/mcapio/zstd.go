package mcapio

import (
	"io"

	"github.com/klauspost/compress/zstd"
)

// chunkZstd compresses each MCAP chunk as one zstd frame: Write only
// appends to a reused buffer, and Close, which the mcap writer calls when
// a chunk is complete, compresses the whole chunk at once. On small
// messages this costs about half of the streaming encoder, whose per-write
// work and hand-offs to its goroutines dominate.
type chunkZstd struct {
	enc *zstd.Encoder
	raw []byte
	out []byte
	dst io.Writer
}

func newChunkZstd() (*chunkZstd, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &chunkZstd{enc: enc}, nil
}

// Write appends p to the chunk.
func (c *chunkZstd) Write(p []byte) (int, error) {
	c.raw = append(c.raw, p...)
	return len(p), nil
}

// Close compresses the chunk into the destination.
func (c *chunkZstd) Close() error {
	c.out = c.enc.EncodeAll(c.raw, c.out[:0])
	c.raw = c.raw[:0]
	_, err := c.dst.Write(c.out)
	return err
}

// Reset starts a chunk for dst.
func (c *chunkZstd) Reset(dst io.Writer) {
	c.dst = dst
	c.raw = c.raw[:0]
}
