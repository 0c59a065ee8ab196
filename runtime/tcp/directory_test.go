package tcp_test

import (
	"testing"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// TestDirectoryCrossesTheMesh attaches a tool to one listener of a mesh and
// checks that it lists, and decodes, what a peer of another dialer publishes.
func TestDirectoryCrossesTheMesh(t *testing.T) {
	sharing := plexo.WithDescriptorSharing(true)
	hub, tool, sensor := newPlexus(t, sharing), newPlexus(t, sharing), newPlexus(t, sharing)
	l := listen(t, hub)
	dial(t, tool, l)
	dial(t, sensor, l)
	plexotest.CheckDirectory(t, stringTopic, tool, sensor)
}
