package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/plexo-go/plexo"
	sensorsv1 "github.com/plexo-go/plexo/examples/internal/gen/brewery/sensors/v1"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// childEnv, set to the sensors' address, makes the program run as the
// logger process that twoProcesses starts.
const childEnv = "PLEXO_BREWERY_LOGGER_DIAL"

// twoProcesses runs the sensors here, listening on TCP loopback, and the
// logger and alarm in a second copy of this program that dials them.
func twoProcesses(ctx context.Context) error {
	fmt.Println("== two processes: sensors here, logger and alarm in a child process, over TCP loopback")
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return sensorsProcess(ctx, "127.0.0.1:0", func(addr string) (wait func() error, err error) {
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(), childEnv+"="+addr)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Wait, nil
	})
}

// sensorsProcess listens on addr, starts the logger with start if not nil,
// publishes readings once a logger wants them, and returns when the alarm
// they cause has come back (and the logger process, if started, exited).
func sensorsProcess(ctx context.Context, addr string, start func(addr string) (func() error, error)) error {
	p := plexo.New()
	defer p.Close()
	l, err := tcp.Listen(ctx, addr)
	if err != nil {
		return err
	}
	if err := p.Attach(l); err != nil {
		return err
	}
	alarms := make(chan *sensorsv1.Alarm, 1)
	if _, err := sensorsv1.SubscribeAlarm(ctx, p, func(_ context.Context, a *sensorsv1.Alarm) {
		select {
		case alarms <- a:
		default:
		}
	}); err != nil {
		return err
	}
	fmt.Printf("sensors: listening on %s\n", l.Addr())
	wait := func() error { return nil }
	if start != nil {
		if wait, err = start(l.Addr().String()); err != nil {
			return err
		}
	}
	// Publish once the logger's subscriptions have reached us. Waiting on
	// the typed topics (both at once) lists this process as their publisher
	// meanwhile, so that `plexo topics` and `plexo echo` see them before the
	// first reading.
	gravity := make(chan error, 1)
	go func() { gravity <- sensorsv1.GravityTopic.WaitForInterest(ctx, p) }()
	if err := errors.Join(sensorsv1.TemperatureTopic.WaitForInterest(ctx, p), <-gravity); err != nil {
		return errors.Join(err, wait())
	}
	if err := publishReadings(ctx, p); err != nil {
		return errors.Join(err, wait())
	}
	select {
	case a := <-alarms:
		fmt.Printf("sensors: the other process raised %s: %s\n", a.GetSeverity(), a.GetReason())
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("no alarm came back: %w", ctx.Err()), wait())
	}
	return wait()
}

// loggerProcess dials the sensors at addr, logs their readings, raises an
// alarm for the warm one, and returns once it has logged all six lines. The
// sensors may start after it: it waits up to a minute for them.
func loggerProcess(addr, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := plexo.New()
	defer p.Close()
	// Subscribe before attaching the transport, so that the sensors learn of
	// every subscription at once and publish no reading before the alarm
	// watches it.
	log := logger{prefix: prefix}
	if err := log.subscribe(ctx, p); err != nil {
		return err
	}
	if err := watchFermenters(ctx, p, 22.0); err != nil {
		return err
	}
	// Dial returns at once; once attached, the Transport connects in the
	// background, logging failed attempts, until the sensors listen.
	d, err := tcp.Dial(ctx, addr)
	if err != nil {
		return err
	}
	if err := p.Attach(d); err != nil {
		return err
	}
	// Not needed for delivery: it fails clearly, naming the address and the
	// latest error, if the sensors never come up.
	if err := d.WaitConnected(ctx); err != nil {
		return err
	}
	// Closing the Plexus (deferred) still sends the queued alarm.
	return log.wait(ctx, 6)
}
