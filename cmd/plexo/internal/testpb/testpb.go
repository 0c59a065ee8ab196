// Package testpb holds the plexo command's test schema (proto/, generated
// into plexotest/v1) and the sample messages that the test peer publishes
// and the tests expect.
package testpb

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// Reading returns the i-th sample reading: every field set, all derived
// from i.
func Reading(i uint64) *plexotestv1.Reading {
	return &plexotestv1.Reading{
		Sensor: fmt.Sprintf("sensor-%d", i%3),
		Value:  float64(i) * 1.25,
		Seq:    i,
		Level:  plexotestv1.Level(i % 3),
		Place:  &plexotestv1.Reading_Place{Room: "cellar", Shelf: int32(i % 5)},
		At:     timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, int(i)*1000, time.UTC)),
		Tags:   []string{"t", fmt.Sprint(i)},
	}
}

// Note returns the i-th sample note.
func Note(i uint64) *plexotestv1.Note {
	return &plexotestv1.Note{Text: fmt.Sprintf("note %d", i), Seq: i}
}
