// Command brewery is plexo's demo: thermometers and hydrometers in a small
// brewery publish readings, a logger records them, and an alarm watches the
// fermenters and raises alarms, all through typed topics generated from
// examples/proto/brewery/sensors/v1/sensors.proto.
//
//	go run ./examples/brewery
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo"
	sensorsv1 "github.com/plexo-go/plexo/examples/internal/gen/brewery/sensors/v1"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := inProcess(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "brewery:", err)
		os.Exit(1)
	}
}

// inProcess runs sensors, a logger and an alarm in one Plexus: messages
// are handed over as pointers, never encoded.
func inProcess(ctx context.Context) error {
	fmt.Println("== one process: sensors, logger and alarm share a Plexus")
	p := plexo.New()
	defer p.Close()

	var log logger
	if err := log.subscribe(ctx, p); err != nil {
		return err
	}
	if err := watchFermenters(ctx, p, 22.0); err != nil {
		return err
	}
	if err := publishReadings(ctx, p); err != nil {
		return err
	}
	// Five readings, and the alarm raised by the warm one.
	return log.wait(ctx, 6)
}

// publishReadings plays a thermometer and a hydrometer on fermenter 2.
func publishReadings(ctx context.Context, p *plexo.Plexus) error {
	for _, celsius := range []float64{19.5, 20.0, 23.5} {
		if err := sensorsv1.PublishTemperature(ctx, p, &sensorsv1.Temperature{
			SensorId:   "fermenter-2/top",
			Celsius:    celsius,
			MeasuredAt: timestamppb.Now(),
		}); err != nil {
			return err
		}
	}
	for _, sg := range []float64{1.050, 1.032} {
		if err := sensorsv1.PublishGravity(ctx, p, &sensorsv1.Gravity{
			SensorId:        "fermenter-2/tilt",
			SpecificGravity: sg,
			MeasuredAt:      timestamppb.Now(),
		}); err != nil {
			return err
		}
	}
	return nil
}

// watchFermenters raises a critical alarm for every temperature above max.
func watchFermenters(ctx context.Context, p *plexo.Plexus, max float64) error {
	_, err := sensorsv1.SubscribeTemperature(ctx, p, func(ctx context.Context, t *sensorsv1.Temperature) {
		if t.GetCelsius() <= max {
			return
		}
		_ = sensorsv1.PublishAlarm(ctx, p, &sensorsv1.Alarm{
			SensorId: t.GetSensorId(),
			Reason:   fmt.Sprintf("%s at %.1f °C, above %.1f °C", t.GetSensorId(), t.GetCelsius(), max),
			RaisedAt: timestamppb.Now(),
			Severity: sensorsv1.Severity_SEVERITY_CRITICAL,
		})
	})
	return err
}

// logger prints every reading and alarm, and counts them.
type logger struct {
	mu    sync.Mutex
	count int
	more  chan struct{}
}

func (l *logger) subscribe(ctx context.Context, p *plexo.Plexus) error {
	l.more = make(chan struct{}, 1)
	if _, err := sensorsv1.SubscribeTemperature(ctx, p, func(_ context.Context, t *sensorsv1.Temperature) {
		l.print("logger: %-18s %5.1f °C", t.GetSensorId(), t.GetCelsius())
	}); err != nil {
		return err
	}
	if _, err := sensorsv1.SubscribeGravity(ctx, p, func(_ context.Context, g *sensorsv1.Gravity) {
		l.print("logger: %-18s SG %.3f", g.GetSensorId(), g.GetSpecificGravity())
	}); err != nil {
		return err
	}
	_, err := sensorsv1.SubscribeAlarm(ctx, p, func(_ context.Context, a *sensorsv1.Alarm) {
		l.print("logger: ALARM %s: %s", a.GetSeverity(), a.GetReason())
	})
	return err
}

func (l *logger) print(format string, args ...any) {
	l.mu.Lock()
	fmt.Printf(format+"\n", args...)
	l.count++
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// wait returns once the logger has printed n lines.
func (l *logger) wait(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		done := l.count >= n
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-l.more:
		case <-ctx.Done():
			return fmt.Errorf("logger saw fewer than %d messages: %w", n, ctx.Err())
		}
	}
}
