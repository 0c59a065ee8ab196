package pipe_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/plexotest"
	"github.com/plexo-go/plexo/runtime/pipe"
)

func TestDirectoryCrossesAPipe(t *testing.T) {
	tool, sensor := plexo.New(), plexo.New()
	defer tool.Close()
	defer sensor.Close()
	a, b := pipe.New()
	if err := tool.Attach(a); err != nil {
		t.Fatal(err)
	}
	if err := sensor.Attach(b); err != nil {
		t.Fatal(err)
	}
	topic := plexo.NewTopic[*wrapperspb.StringValue]("test.v1.Described.json")
	plexotest.CheckDirectory(t, topic, tool, sensor)
}
