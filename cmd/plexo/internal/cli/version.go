package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// libraryPath is the module of the plexo library the command is built with.
const libraryPath = "github.com/plexo-go/plexo"

// version describes the build for --version: the command's module version,
// the plexo library's it was built with, and Go's. A build from a clone
// says "(devel)", as the go command does.
func version() string {
	cmd, lib := "(devel)", "(devel)"
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v := info.Main.Version; v != "" {
			cmd = v
		}
		for _, d := range info.Deps {
			if d.Path == libraryPath {
				lib = d.Version
				if d.Replace != nil {
					lib = d.Replace.Version
				}
			}
		}
	}
	return fmt.Sprintf("%s (library %s %s, %s)", cmd, libraryPath, orDevel(lib), runtime.Version())
}

func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}
