// Command brewery is plexo's demo: thermometers and hydrometers in a small
// brewery publish readings, a logger records them, and an alarm watches the
// fermenters and raises alarms, all through typed topics generated from
// examples/proto/brewery/sensors/v1/sensors.proto.
//
//	go run ./examples/brewery
//
// runs it twice: first in one process, then across two processes over TCP
// loopback (the program starts a second copy of itself as the logger and
// alarm), and stops by itself. To run the two sides by hand, in two
// terminals:
//
//	go run ./examples/brewery -listen 127.0.0.1:7400   # sensors
//	go run ./examples/brewery -dial 127.0.0.1:7400     # logger and alarm
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plexo-go/plexo"
	sensorsv1 "github.com/plexo-go/plexo/examples/internal/gen/brewery/sensors/v1"
)

func main() {
	listen := flag.String("listen", "", "run only the sensors, listening for the logger on this address")
	dial := flag.String("dial", "", "run only the logger and alarm, dialing the sensors at this address")
	flag.Parse()
	if err := run(*listen, *dial); err != nil {
		fmt.Fprintln(os.Stderr, "brewery:", err)
		os.Exit(1)
	}
}

func run(listen, dial string) error {
	if addr := os.Getenv(childEnv); addr != "" {
		return loggerProcess(addr, "[logger process] ")
	}
	switch {
	case listen != "":
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return sensorsProcess(ctx, listen, nil)
	case dial != "":
		return loggerProcess(dial, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := inProcess(ctx); err != nil {
		return err
	}
	return twoProcesses(ctx)
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
	prefix string
	mu     sync.Mutex
	count  int
	more   chan struct{}
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
	fmt.Printf(l.prefix+format+"\n", args...)
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
