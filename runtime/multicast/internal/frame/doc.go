// Package frame is the multicast transport's wire format: the fixed
// little-endian header, DATA messages split into fragments and reassembled
// with bounded memory, the control messages of the agreement protocol, and
// the optional HMAC-SHA256 tag. runtime/multicast/PROTOCOL.md documents the
// encodings.
package frame
