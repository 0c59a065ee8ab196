// Command multicast shows plexo's multicast transport: a publisher of
// brewery sensor readings and two subscribers, each its own process with
// multicast.New(ctx, multicast.WithInterface("lo")), find each other with no
// configuration. Every type travels on its own multicast group, so each
// subscriber's kernel drops the readings it did not ask for.
//
//	sudo go run ./examples/multicast
//
// To stay off real networks, the program runs only inside a private network
// namespace that it creates (it re-executes itself under unshare -n and
// sets up loopback multicast there, as plexo's tests do): that needs root,
// util-linux unshare and iproute2 ip. Without them it explains why it
// cannot run and exits with status 0.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/plexo-go/plexo"
	sensorsv1 "github.com/plexo-go/plexo/examples/internal/gen/brewery/sensors/v1"
	"github.com/plexo-go/plexo/runtime/multicast"
)

const (
	roleEnv   = "PLEXO_EXAMPLE_MULTICAST_ROLE"   // "netns" or a subscriber's type
	parentEnv = "PLEXO_EXAMPLE_MULTICAST_PARENT" // the network namespace it came from
	readings  = 3                                // of each type
)

func main() { os.Exit(run(os.Stdout)) }

// run runs the program's part chosen by the environment and returns its
// exit status.
func run(out io.Writer) int {
	var err error
	switch role := os.Getenv(roleEnv); role {
	case "":
		err = outside(out)
	case "netns":
		err = inside(out)
	default:
		err = subscriber(out, role)
	}
	if err != nil {
		fmt.Fprintln(out, "multicast example:", err)
		return 1
	}
	return 0
}

// outside re-executes the program in a private network namespace, when it
// can.
func outside(out io.Writer) error {
	why := ""
	unshare, errUnshare := exec.LookPath("unshare")
	_, errIP := exec.LookPath("ip")
	switch {
	case runtime.GOOS != "linux":
		why = "it needs Linux network namespaces"
	case os.Geteuid() != 0:
		why = "creating a private network namespace needs root (try: sudo go run ./examples/multicast)"
	case errUnshare != nil:
		why = "util-linux unshare is not installed"
	case errIP != nil:
		why = "iproute2 ip is not installed"
	}
	if why != "" {
		fmt.Fprintf(out, "This example sends multicast only inside a private network namespace it creates,\n"+
			"so that nothing reaches a real network, and it cannot create one here: %s.\n", why)
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-n", self)
	cmd.Env = append(os.Environ(), roleEnv+"=netns", parentEnv+"="+ns)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

// private reports whether this process is in a network namespace other
// than the initial one and the one it came from, with loopback alone.
func private() bool {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || os.Getenv(parentEnv) == "" || self == os.Getenv(parentEnv) {
		return false
	}
	if initial, err := os.Readlink("/proc/1/ns/net"); err == nil && initial == self {
		return false
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// inside sets up loopback multicast in the private namespace, starts the
// two subscribers and publishes.
func inside(out io.Writer) error {
	if !private() {
		return errors.New("refusing to send multicast outside a private network namespace")
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "lo", "multicast", "on"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil && !strings.Contains(string(b), "File exists") {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, b)
		}
	}
	fmt.Fprintln(out, "In a private network namespace: loopback multicast is up (ip route add 224.0.0.0/4 dev lo).")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var lines sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, role := range []string{"temperature", "gravity"} {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, self)
		cmd.Env = append(os.Environ(), roleEnv+"="+role)
		cmd.Stderr = out
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		ready := make(chan struct{})
		exited := make(chan error, 1) // why the subscriber ended, if before it was ready
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := bufio.NewScanner(stdout)
			started := false
			for s.Scan() {
				if s.Text() == "ready" && !started {
					started = true
					close(ready)
					continue
				}
				lines.Lock()
				fmt.Fprintln(out, s.Text())
				lines.Unlock()
			}
			err := cmd.Wait()
			if !started {
				exited <- err
				return
			}
			errs <- err
		}()
		select {
		case <-ready:
		case err := <-exited:
			return fmt.Errorf("the %s subscriber ended before it was ready: %v", role, err)
		case <-ctx.Done():
			return fmt.Errorf("the %s subscriber did not start", role)
		}
	}

	// The subscribers are up. Each type has a home group computed from its
	// name, so nothing waits for an agreement; a subscriber joins its group
	// in the background, though, and tells its peers once it has, so wait
	// for that (a millisecond or so) lest the first reading go unheard.
	m, err := multicast.New(ctx, multicast.WithInterface("lo"))
	if err != nil {
		return err
	}
	p := plexo.New()
	defer p.Close()
	if err := p.Attach(m); err != nil {
		return err
	}
	lines.Lock()
	fmt.Fprintf(out, "[publisher] temperatures on %s, gravities on %s\n", m.Group(sensorsv1.TemperatureTopicName), m.Group(sensorsv1.GravityTopicName))
	lines.Unlock()
	if err := sensorsv1.TemperatureTopic.WaitForInterest(ctx, p); err != nil {
		return fmt.Errorf("no subscriber of temperatures: %w", err)
	}
	if err := sensorsv1.GravityTopic.WaitForInterest(ctx, p); err != nil {
		return fmt.Errorf("no subscriber of gravities: %w", err)
	}
	for i := range readings {
		t := &sensorsv1.Temperature{SensorId: "fermenter-1/top", Celsius: 18.5 + float64(i)/10}
		g := &sensorsv1.Gravity{SensorId: "fermenter-1/tilt", SpecificGravity: 1.050 - float64(i)/1000}
		if err := sensorsv1.PublishTemperature(ctx, p, t); err != nil {
			return err
		}
		if err := sensorsv1.PublishGravity(ctx, p, g); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("a subscriber failed: %w", err)
		}
	}
	fmt.Fprintln(out, "Done: each subscriber got its own type only.")
	return nil
}

// subscriber subscribes to one type, prints the readings and what reached
// its sockets, and returns after all readings arrived.
func subscriber(out io.Writer, role string) error {
	if !private() {
		return errors.New("refusing to join multicast groups outside a private network namespace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := multicast.New(ctx, multicast.WithInterface("lo"))
	if err != nil {
		return err
	}
	p := plexo.New()
	defer p.Close()
	if err := p.Attach(m); err != nil {
		return err
	}
	prefix := "[" + role + " subscriber]"
	got := make(chan string, readings)
	switch role {
	case "temperature":
		_, err = sensorsv1.SubscribeTemperature(ctx, p, func(_ context.Context, t *sensorsv1.Temperature) {
			got <- fmt.Sprintf("%s %s: %.1f °C", prefix, t.GetSensorId(), t.GetCelsius())
		})
	case "gravity":
		_, err = sensorsv1.SubscribeGravity(ctx, p, func(_ context.Context, g *sensorsv1.Gravity) {
			got <- fmt.Sprintf("%s %s: specific gravity %.3f", prefix, g.GetSensorId(), g.GetSpecificGravity())
		})
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	for range readings {
		select {
		case line := <-got:
			fmt.Fprintln(out, line)
		case <-ctx.Done():
			return fmt.Errorf("%s: not every reading arrived", prefix)
		}
	}
	time.Sleep(50 * time.Millisecond) // would anything else arrive?
	st := m.Stats()
	fmt.Fprintf(out, "%s %d datagrams reached its sockets, %d of them of other types\n", prefix, st.Datagrams, st.Unwanted)
	return nil
}
