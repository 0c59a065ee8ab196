// Package tcp is plexo's TCP transport: typed publish/subscribe between
// processes and machines, interest-filtered and bridged.
//
// [Listen] accepts any number of peers; [Dial] connects to one peer. Both
// return a [Transport] to attach to a [plexo.Plexus]:
//
//	l, err := tcp.Listen(ctx, "127.0.0.1:7400")
//	...
//	err = p.Attach(l)
//
//	d, err := tcp.Dial(ctx, "127.0.0.1:7400")
//	...
//	err = q.Attach(d)
//	err = d.WaitConnected(ctx) // only where the program must wait for the peer
//
// Dial returns at once, whether or not the peer is up. Once attached, the
// dialer connects in the background, with jittered exponential backoff
// ([WithBackoff]) until the peer listens and again whenever the connection
// drops; it logs failed attempts through the Plexus's logger, naming the
// address (the first at Warn, then at most one line every ten seconds), and
// the connection that ends them, or follows a drop, at Info. [Transport.WaitConnected] waits for a peer, and
// [plexo.Plexus.WaitForInterest] for a remote subscriber, where a first
// message must not be lost.
//
// Any mix of listeners and dialers forms a mesh: if B and C dial A, a
// message B publishes reaches C's handlers through A, and a cycle of
// connections delivers each message once, because every Plexus drops the
// copies it has already seen.
//
// Peers tell each other which topics they want, and nothing else is sent.
// Each peer has a bounded send queue drained by its own writer goroutine, so
// a slow peer never holds up the others ([WithSendQueueSize],
// [WithOverflow]); heartbeats detect a dead peer ([WithHeartbeat]);
// [WithTLS] secures the connections, with mutual TLS if the listener's
// configuration requires client certificates. A failed TLS authentication,
// either way, is told apart from a network failure: it is an
// [ErrAuthentication], logged at Error, counted in [Stats.AuthFailures],
// and returned at once by [Transport.WaitConnected]; the dialer goes on
// retrying with its backoff growing to the maximum. Under TLS 1.3 a dialer
// whose certificate the listener refuses finds out at its first read,
// after its own handshake has succeeded, and that is handled alike.
//
// Delivery is at most once: a message queued for a peer whose connection
// drops, or in a write that fails, is lost and counted as dropped in
// [Transport.Stats]. One already written to the socket counts as sent: if
// the connection then breaks, it is lost in the network or the kernel's
// buffers, where no transport can count it.
//
// Each connection has a writer goroutine that sends what accumulates in the
// queue in batches; a message sent after a quiet spell (10 µs) to an idle
// plain-TCP connection is written by Send itself, with one non-blocking
// write, to spare a request/reply a goroutine hand-off. Each connection also
// reads the socket on one goroutine while another hands the frames already
// read to the Plexus, through a few recycled buffers: the messages of one
// read go to the Plexus together ([plexo.BatchHost]), so that a
// subscription's goroutine wakes once per burst rather than per message.
//
// Options fail closed. [Listen] and [Dial] apply all their options, the last
// of a setting winning, then validate once: a zero value means the
// documented default, and any value that cannot work makes them return an
// error wrapping [ErrConfig], never a default in its place. That holds for
// security-relevant options (a nil TLS configuration, one a listener
// cannot serve with, mutual TLS with nothing to verify client certificates
// against, a dialer that skips verification with no callback of its own)
// and for the others given values outside their documented range (a
// negative duration, a heartbeat timeout below two intervals). No value is
// clamped. Each option's documentation states its range.
//
// The wire protocol is described in PROTOCOL.md beside this file, so that
// other languages can speak it.
package tcp
