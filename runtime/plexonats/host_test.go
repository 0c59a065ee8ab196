package plexonats

import (
	"io"
	"log/slog"

	"github.com/plexo-go/plexo"
)

// nopHost is a plexo.Host that ignores everything.
type nopHost struct{}

func (nopHost) Deliver(*plexo.Message)  {}
func (nopHost) SetInterest(string, int) {}
func (nopHost) Logger() *slog.Logger    { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (nopHost) ID() uint64              { return 1 }
