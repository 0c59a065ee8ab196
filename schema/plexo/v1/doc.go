// Package plexov1 holds plexo's own schemas, compiled from the .proto files
// beside it (proto package plexo.v1):
//
//   - options.proto: the file and message options that protoc-gen-plexo reads
//     ([E_Namespace], [E_DefaultCodec], [E_Alias], [E_Skip], [E_Codec]).
//     Users' schemas import it as "plexo/v1/options.proto".
//   - envelope.proto: [Envelope], what travels between processes.
//
// Regenerate with `GOWORK=off go tool -modfile=tools/go.mod buf generate` at the
// repository root.
package plexov1
