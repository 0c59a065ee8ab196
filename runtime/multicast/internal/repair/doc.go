// Package repair holds the pure parts of NAK repair: the sender's ring of
// recent messages of a topic, and the receiver's window over a sender's
// sequence numbers that finds gaps and recognises late repairs. Neither
// does I/O; the transport wires them to sockets.
package repair
