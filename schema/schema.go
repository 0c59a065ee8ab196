// Package schema embeds plexo's own .proto files, so that programs built from
// this module carry the exact schemas they were built with: protoc-gen-plexo
// writes [OptionsPath] out with --write-options, for users' schemas to import.
// The Go code of these files is in package
// [github.com/plexo-go/plexo/schema/plexo/v1].
package schema

import "embed"

// OptionsPath is the import path of plexo's options, "plexo/v1/options.proto",
// and its path in [FS].
const OptionsPath = "plexo/v1/options.proto"

// FS holds plexo's .proto files at their import paths: [OptionsPath] and
// "plexo/v1/envelope.proto".
//
//go:embed plexo/v1/options.proto plexo/v1/envelope.proto
var FS embed.FS
