// Package goldenpb holds, in its subdirectories, the Go code that
// protoc-gen-go and protoc-gen-plexo generate for the golden inputs in
// testdata/golden, so that `go build ./...` proves the golden outputs
// compile. `GOWORK=off go tool -modfile=tools/go.mod buf generate` regenerates it; its
// test checks that the _plexo.pb.go files equal the golden files, and that a
// golden topic delivers messages.
package goldenpb
