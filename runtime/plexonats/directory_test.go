package plexonats_test

import (
	"testing"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
)

// TestDirectoryCrossesNATS checks that a tool on one NATS connection lists,
// and decodes, what a Plexus on another one publishes.
func TestDirectoryCrossesNATS(t *testing.T) {
	s := startServer(t, -1)
	sharing := plexo.WithDescriptorSharing(true)
	tool, sensor := newPlexus(t, sharing), newPlexus(t, sharing)
	attach(t, tool, connect(t, s.ClientURL()))
	attach(t, sensor, connect(t, s.ClientURL()))
	plexotest.CheckDirectory(t, stringTopic, tool, sensor)
}
