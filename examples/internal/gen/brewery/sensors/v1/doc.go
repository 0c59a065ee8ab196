// Package sensorsv1 is the generated Go code of the brewery example's schema,
// examples/proto/brewery/sensors/v1/sensors.proto: the messages, from
// protoc-gen-go, and their plexo topics, from protoc-gen-plexo, such as
// [TemperatureTopic], [PublishTemperature] and [SubscribeTemperature].
//
// Regenerate with `GOWORK=off go tool -modfile=tools/go.mod buf generate` at the
// repository root.
package sensorsv1
