package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Streams are where a command reads and writes; tests swap them.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// state is what every subcommand shares: the streams and the flags of the
// root command.
type state struct {
	Streams
	conn    ConnFlags
	verbose bool
}

// NewRoot returns the plexo command with every subcommand.
func NewRoot(s Streams) *cobra.Command {
	root, _ := newRoot(s)
	return root
}

func newRoot(s Streams) (*cobra.Command, *state) {
	st := &state{Streams: s}
	root := &cobra.Command{
		Use:   "plexo",
		Short: "See, touch, record and replay a plexo bus",
		Long: `plexo lists, reads, writes, records and replays the topics of a running plexo
system without its .proto files: every Plexus shares the descriptors of the
types it publishes and subscribes.

The connection flags go before or after the subcommand and repeat: each one
attaches a transport to the command's one Plexus, which bridges them.`,
		Example: `  plexo --tcp-dial 127.0.0.1:7000 topics
  plexo --multicast eth0 echo brewery.sensors.v1.Temperature.proto -n 5
  plexo --nats nats://127.0.0.1:4222 record -o run.mcap --duration 1m`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("plexo {{.Version}}\n")
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	st.conn.Register(root.PersistentFlags())
	root.PersistentFlags().BoolVarP(&st.verbose, "verbose", "v", false, "log the transports' events (slog, to stderr)")
	root.AddCommand(
		newTopicsCmd(st),
		newEchoCmd(st),
		newPubCmd(st),
		newRecordCmd(st),
		newReplayCmd(st),
		newBridgeCmd(st),
		newUICmd(st),
	)
	return root, st
}

// noTransport says what is missing when no connection flag was given. A
// failure to hear from the system adds it, as its likeliest cause.
const noTransport = "no transport: give --tcp-dial, --tcp-listen, --multicast or --nats"

// A nothingCameError is a wait for the system that ended with nothing: a
// topic not in the directory, a descriptor or messages that did not arrive.
type nothingCameError struct{ error }

func (e nothingCameError) Unwrap() error { return e.error }

// nothingCame marks err as a wait for the system that ended with nothing.
func nothingCame(err error) error { return nothingCameError{err} }

// Main runs the plexo command with args and returns its exit status: 0 on
// success, 1 with one line "plexo: ..." on stderr on failure.
func Main(args []string, s Streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, st := newRoot(s)
	root.SetArgs(args)
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		msg := oneLine(err)
		if cmd != nil && cmd != root && !strings.HasPrefix(msg, cmd.Name()+": ") {
			msg = cmd.Name() + ": " + msg // an argument error of cobra's
		}
		if waited := (nothingCameError{}); errors.As(err, &waited) && st.conn.Empty() {
			msg += " (" + noTransport + ")"
		}
		fmt.Fprintf(s.Err, "plexo: %s\n", msg)
		return 1
	}
	return 0
}

// oneLine flattens an error's message onto one line.
func oneLine(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "plexo: ")
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
}

// usageError reports bad arguments.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s: %s (see '%s --help')", cmd.Name(), fmt.Sprintf(format, args...), cmd.CommandPath())
}

// interrupted reports whether err only says the command was stopped by a
// signal, which ends a command successfully.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err()))
}
