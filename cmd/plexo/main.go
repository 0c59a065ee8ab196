// Command plexo lists, reads, writes, records and replays the topics of a
// running plexo system, without its .proto files. Run `plexo --help`.
package main

import (
	"os"

	"github.com/plexo-go/plexo/cmd/plexo/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
