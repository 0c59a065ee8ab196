// Command faultnode is one process of the fault-injection suite in
// internal/faults: a Plexus with TCP listeners and dialers (and, inside a
// private network namespace only, a multicast transport on lo) that
// publishes two topics at a steady rate and reports on stdout every message
// it receives.
//
// It reads commands on stdin, one per line:
//
//	stats  garbage-collects, then prints "stats <goroutines> <heap alloc> <peers>"
//	stop   stops publishing and prints "stopped <last tick seq> <last tock seq>"
//	quit   closes the Plexus and exits 0
//
// and prints "ready <listen address or ->" once its transports are attached,
// then "got <tag> <node> <incarnation> <seq>" for each message it receives,
// where tag is the payload's own tag ("tick" or "tock") and the topic's tag
// follows as a fifth field, so that a message of the wrong type shows.
// Payloads are "<tag> <node> <incarnation> <seq>"; sequences start at 1.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/runtime/multicast"
	"github.com/plexo-go/plexo/runtime/tcp"
)

var (
	// tickTopic and tockTopic carry different Go types on different topics:
	// a subscriber of one that received the other would print a payload
	// tagged with the other's name.
	tickTopic = plexo.NewTopic[*wrapperspb.StringValue]("faults.v1.Tick.proto")
	tockTopic = plexo.NewTopic[*wrapperspb.BytesValue]("faults.v1.Tock.proto")
)

func main() {
	os.Exit(run())
}

func run() int {
	id := flag.Int("id", 0, "this node's number, carried in its payloads")
	inc := flag.Int("inc", 0, "this node's incarnation, carried in its payloads")
	listen := flag.String("listen", "", "address to listen on (empty: none)")
	dial := flag.String("dial", "", "comma-separated addresses to dial")
	sub := flag.String("sub", "tick,tock", "comma-separated tags of the topics to subscribe to")
	every := flag.Duration("every", 2*time.Millisecond, "publish each topic once per this interval (0: never)")
	mcast := flag.Bool("multicast", false, "attach a multicast transport on lo (only inside a private network namespace)")
	life := flag.Duration("life", 2*time.Minute, "exit after this long whatever happens")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *life)
	defer cancel()

	out := &output{w: bufio.NewWriterSize(os.Stdout, 64<<10)}
	p := plexo.New()
	defer p.Close()
	backoff := tcp.WithBackoff(20*time.Millisecond, 300*time.Millisecond)
	heartbeat := tcp.WithHeartbeat(200*time.Millisecond, 1*time.Second)
	var transports []*tcp.Transport
	readyAddr := "-"
	if *listen != "" {
		l, err := tcp.Listen(ctx, *listen, heartbeat)
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
		readyAddr = l.Addr().String()
		transports = append(transports, l)
	}
	for _, a := range strings.Split(*dial, ",") {
		if a == "" {
			continue
		}
		d, err := tcp.Dial(ctx, a, backoff, heartbeat)
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
		transports = append(transports, d)
	}
	for _, t := range transports {
		if err := p.Attach(t); err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
	}
	if *mcast {
		if !inPrivateNetns() {
			fmt.Fprintln(os.Stderr, "faultnode: refusing to send multicast outside a private network namespace with only loopback")
			return 2
		}
		m, err := multicast.New(ctx, multicast.WithInterface("lo"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
		if err := p.Attach(m); err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
	}
	for _, tag := range strings.Split(*sub, ",") {
		var err error
		switch tag {
		case "tick":
			_, err = tickTopic.Subscribe(ctx, p, func(_ context.Context, m *wrapperspb.StringValue) {
				out.got(m.GetValue(), "tick")
			}, plexo.WithInline())
		case "tock":
			_, err = tockTopic.Subscribe(ctx, p, func(_ context.Context, m *wrapperspb.BytesValue) {
				out.got(string(m.GetValue()), "tock")
			}, plexo.WithInline())
		case "":
		default:
			err = fmt.Errorf("unknown tag %q", tag)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultnode:", err)
			return 2
		}
	}
	out.line("ready " + readyAddr)

	var pubMu sync.Mutex // held by a publish and by stop
	var stopped bool
	var ticks, tocks uint64
	var wg sync.WaitGroup
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	if *every > 0 {
		wg.Go(func() {
			tk := time.NewTicker(*every)
			defer tk.Stop()
			for {
				select {
				case <-pubCtx.Done():
					return
				case <-tk.C:
				}
				pubMu.Lock()
				if !stopped {
					ticks++
					_ = tickTopic.Publish(pubCtx, p, wrapperspb.String(fmt.Sprintf("tick %d %d %d", *id, *inc, ticks)))
					tocks++
					_ = tockTopic.Publish(pubCtx, p, wrapperspb.Bytes(fmt.Appendf(nil, "tock %d %d %d", *id, *inc, tocks)))
				}
				pubMu.Unlock()
			}
		})
	}
	flushDone := make(chan struct{})
	wg.Go(func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-flushDone:
				out.flush()
				return
			case <-tk.C:
				out.flush()
			}
		}
	})
	defer func() {
		stopPub()
		close(flushDone)
		wg.Wait()
	}()

	lines := make(chan string)
	go func() { // ends with stdin; the process exits without waiting for it
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		var cmd string
		var ok bool
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "faultnode: life ended")
			return 3
		case cmd, ok = <-lines:
		}
		if !ok {
			return 0
		}
		switch cmd {
		case "stats":
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peers := 0
			for _, t := range transports {
				peers += len(t.Stats().Peers)
			}
			out.line(fmt.Sprintf("stats %d %d %d", runtime.NumGoroutine(), ms.HeapAlloc, peers))
		case "stop":
			pubMu.Lock()
			stopped = true
			t, k := ticks, tocks
			pubMu.Unlock()
			out.line(fmt.Sprintf("stopped %d %d", t, k))
		case "quit":
			return 0
		default:
			fmt.Fprintln(os.Stderr, "faultnode: unknown command", cmd)
		}
	}
}

// output serialises lines to stdout; got lines are flushed every 10 ms,
// command answers at once.
type output struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *output) got(payload, topicTag string) {
	o.mu.Lock()
	o.w.WriteString("got ")
	o.w.WriteString(payload)
	o.w.WriteString(" ")
	o.w.WriteString(topicTag)
	o.w.WriteByte('\n')
	o.mu.Unlock()
}

func (o *output) line(s string) {
	o.mu.Lock()
	o.w.WriteString(s)
	o.w.WriteByte('\n')
	o.w.Flush()
	o.mu.Unlock()
}

func (o *output) flush() {
	o.mu.Lock()
	o.w.Flush()
	o.mu.Unlock()
}
