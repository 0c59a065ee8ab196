// Package benchmarks measures plexo's transports beside baselines in the
// same run: an embedded NATS server with nats.go clients, and raw
// length-prefixed TCP. It is a module of its own so that the library's
// go.mod stays free of NATS. Run it with
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 200000x -count 3
package benchmarks
