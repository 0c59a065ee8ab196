package frame

import "encoding/binary"

// A Writer splits messages into frames for one sender. It reuses its
// buffers, so it allocates only while they grow; it is not safe for
// concurrent use.
type Writer struct {
	Domain uint32
	Sender uint64
	mtu    int
	keys   *Keys
	buf    []byte
	frames [][]byte
}

// NewWriter returns a Writer of datagrams of at most mtu bytes, tagged with
// keys' sending key when keys is not nil.
func NewWriter(domain uint32, sender uint64, mtu int, keys *Keys) *Writer {
	return &Writer{Domain: domain, Sender: sender, mtu: mtu, keys: keys}
}

// MaxBody is the most message bytes one frame carries.
func (w *Writer) MaxBody() int {
	n := w.mtu - HeaderSize
	if w.keys != nil {
		n -= TagSize
	}
	return n
}

// Frames splits the message prefix||payload into frames of the given kind,
// topic and sequence. The frames are views into w's buffer, valid until the
// next call.
func (w *Writer) Frames(kind uint8, topic, seq uint64, prefix, payload []byte) ([][]byte, error) {
	l := len(prefix) + len(payload)
	maxBody := w.MaxBody()
	count := (l + maxBody - 1) / maxBody
	if count == 0 {
		count = 1
	}
	if count > 0xffff || uint64(l) > 0xffffffff {
		return nil, ErrTooLarge
	}
	c := (l + count - 1) / count
	need := count * w.mtu
	if cap(w.buf) < need {
		w.buf = make([]byte, need)
	}
	w.buf = w.buf[:need]
	w.frames = w.frames[:0]
	h := Header{Kind: kind, Domain: w.Domain, Sender: w.Sender, Topic: topic, Seq: seq, Count: uint16(count), Length: uint32(l)}
	if w.keys != nil {
		h.Flags, h.KeyID = FlagTagged, w.keys.send
	}
	for i := range count {
		off := i * c
		n := min(c, l-off)
		f := w.buf[i*w.mtu : i*w.mtu+HeaderSize+n]
		h.Index = uint16(i)
		h.Put(f)
		body := f[HeaderSize:]
		// Copy message bytes [off, off+n) from prefix, then payload.
		k := 0
		if off < len(prefix) {
			k = copy(body, prefix[off:min(len(prefix), off+n)])
		}
		if k < n {
			po := off + k - len(prefix)
			copy(body[k:], payload[po:po+n-k])
		}
		if w.keys != nil {
			f = w.keys.sign(f)
		}
		w.frames = append(w.frames, f)
	}
	return w.frames, nil
}

// AppendDataPrefix appends the start of a DATA message: the topic name,
// length-prefixed (u16 little-endian).
func AppendDataPrefix(b []byte, name string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// ParseData splits a reassembled DATA message into topic name and payload.
func ParseData(msg []byte) (name, payload []byte, err error) {
	if len(msg) < 2 {
		return nil, nil, ErrData
	}
	n := int(binary.LittleEndian.Uint16(msg))
	if len(msg) < 2+n {
		return nil, nil, ErrData
	}
	return msg[2 : 2+n], msg[2+n:], nil
}
