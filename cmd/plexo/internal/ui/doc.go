// Package ui is the server of `plexo ui`: one page, embedded, that shows a
// running plexo system live in the browser.
//
// The server never forwards every message. It counts the messages and bytes
// of every topic in an inline raw handler, with atomics only, and samples
// the counters once a second into a 60-second history. Only the topic a
// viewer selects is subscribed for its content: its newest messages wait in
// a bounded ring and are decoded to JSON when they are sent, at most four
// times a second. Viewers follow by Server-Sent Events on /events:
//
//   - "topics": the topic list (type, codec, publishers, subscribers) with
//     each topic's history, at connection and whenever the directory changes;
//   - "tick": once a second, [index, msgs/s, bytes/s, dropped, decode errors]
//     of the topics whose values are not all zero, by index in the last
//     topic list (a diff against zeros, so that idle topics cost nothing);
//   - "system": every two seconds, the transports and their peers;
//   - "messages": the selected topic's new messages, newest first.
package ui
