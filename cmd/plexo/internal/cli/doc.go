// Package cli is the plexo command: its cobra commands, one file per
// subcommand, and the connection flags that every subcommand shares
// (connect.go), which build one Plexus with every transport attached.
package cli
