// Package benchmarks measures plexo's transports beside baselines in the
// same run: an embedded NATS server with nats.go clients, and raw
// length-prefixed TCP, both also typed (proto.Marshal before sending,
// proto.Unmarshal on receipt, as a careful user writes them); and plexo's
// proto codec on vtprotobuf-generated messages (testdata/vtbenchpb) beside
// protobuf's own encoding. It is a module of its own so that the library's
// go.mod stays free of NATS and vtprotobuf. Run it with
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 200000x -count 3
//
// BENCHMARKS.md at the repository root has the figures and the exact
// commands behind them.
package benchmarks
