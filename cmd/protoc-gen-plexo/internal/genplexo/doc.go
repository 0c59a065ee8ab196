// Package genplexo is the code generator behind protoc-gen-plexo: for every
// message of the files to generate (nested ones too; not map entries, not
// messages with (plexo.v1.skip) = true) it writes, into <file>_plexo.pb.go
// beside protoc-gen-go's output and in the same Go package,
//
//	const MTopicName = "<namespace>.<MessageName>.<codec>"
//	var MTopic = plexo.NewTopic[*M](MTopicName)
//	func PublishM(ctx context.Context, p *plexo.Plexus, msg *M) error
//	func SubscribeM(ctx context.Context, p *plexo.Plexus, h func(context.Context, *M)) (*plexo.Subscription, error)
//
// where M is the Go name protoc-gen-go gives the message (Outer_Inner for a
// nested one), the namespace is the proto package unless the file option
// (plexo.v1.namespace) says otherwise, MessageName is the message's name
// relative to its package unless the message option (plexo.v1.alias) replaces
// it, and the codec is the message option (plexo.v1.codec), else the file
// option (plexo.v1.default_codec), else "proto". Files without such a
// message produce no file.
//
// Mistakes in a schema are reported as one error naming each file and
// message at fault, and nothing is generated: two messages with the same
// topic name, an invalid namespace or alias, an unknown codec, or a
// generated identifier that collides with another identifier of the Go
// package.
//
// The code is emitted with github.com/dave/jennifer and formatted once, by
// protogen. Output depends only on the request, so it is deterministic.
package genplexo
