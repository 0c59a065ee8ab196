package envelope

// DecodeGeneral exposes the general decoder, which Decode's fast path must
// agree with.
var DecodeGeneral = decodeGeneral
