package multicast_test

import (
	"testing"

	"github.com/plexo-go/plexo/internal/plexotest"
)

// TestDirectoryCrossesTheLAN checks that a tool on the multicast LAN lists,
// and decodes, what another process on it publishes.
func TestDirectoryCrossesTheLAN(t *testing.T) {
	if !netns(t) {
		return
	}
	tool, sensor := newNode(t), newNode(t)
	plexotest.CheckDirectory(t, stringTopic, tool.p, sensor.p)
}
