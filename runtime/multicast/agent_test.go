package multicast_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/internal/netnstest"
	"github.com/plexo-go/plexo/runtime/multicast"
)

// agentEnv makes the test binary run as an agent: a separate process with
// its own Plexus and multicast transport, driven line by line through its
// standard input by a test running in the same private network namespace.
const agentEnv = "PLEXO_MULTICAST_AGENT"

// agentOptsEnv carries extra transport settings to an agent, as
// comma-separated key=value pairs (see runAgent).
const agentOptsEnv = "PLEXO_MULTICAST_AGENT_OPTS"

// runAgent is the agent's main. It creates its transport exactly as a user
// would, multicast.New(ctx, multicast.WithInterface("lo")) unless told
// otherwise (agentOptsEnv: iface=<name>, ipv6, rcvbuf=<bytes>,
// repair=<messages>), and obeys these commands, one a line:
//
//	sub <type> <topic>       subscribe; reply "ok <topic>"; every delivery prints
//	                         "got <topic> <value> <unix ns>"
//	unsub <topic>            end the subscription; reply "ok <topic>"
//	pub <type> <topic> <n>   publish values 0..n-1 with no wait; reply
//	                         "sent <topic> <unix ns of the first publish>"
//	stats                    reply "stats <JSON of multicast.Stats>"
//	exec <command> <args>    run a command (such as ip, to set up the namespace);
//	                         reply "ok <its output on one line>"
//	write <file> <value>     write a file (such as a sysctl); reply "ok <file>"
//
// Types are string, int64 and bytes (wrapperspb values; bytes values are n
// bytes long). At the end of its input the agent closes its Plexus and exits.
func runAgent() int {
	if !netnstest.InPrivate() {
		fmt.Fprintln(os.Stderr, "agent: refusing to send multicast outside a private network namespace")
		return 2
	}
	iface := "lo"
	var opts []multicast.Option
	for kv := range strings.SplitSeq(os.Getenv(agentOptsEnv), ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "rcvbuf":
			opts = append(opts, multicast.WithReceiveBuffer(n))
		case "repair":
			opts = append(opts, multicast.WithRepair(n))
		case "ipv6":
			opts = append(opts, multicast.WithIPv6())
		case "iface":
			iface = v
		}
	}
	// The transport starts with the first command that needs it, so that
	// "exec" commands can set the namespace up first.
	var m *multicast.Transport
	p := plexo.New()
	defer p.Close()
	start := func() error {
		if m != nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if m, err = multicast.New(ctx, append([]multicast.Option{multicast.WithInterface(iface)}, opts...)...); err != nil {
			return err
		}
		return p.Attach(m)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
		mu.Unlock()
	}
	subs := make(map[string]*plexo.Subscription)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		if f[0] != "exec" && f[0] != "write" {
			err = start()
		}
		switch {
		case err != nil:
		case f[0] == "exec" && len(f) > 1:
			var out []byte
			out, err = exec.Command(f[1], f[2:]...).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%s: %w: %s", in.Text(), err, out)
				break
			}
			say("ok %s", strings.Join(strings.Fields(string(out)), " "))
		case f[0] == "write" && len(f) == 3:
			if err = os.WriteFile(f[1], []byte(f[2]), 0); err == nil {
				say("ok %s", f[1])
			}
		case f[0] == "sub" && len(f) == 3:
			var s *plexo.Subscription
			s, err = agentSubscribe(p, f[1], f[2], func(v string) {
				say("got %s %s %d", f[2], v, time.Now().UnixNano())
			})
			if err == nil {
				joined(m) // Subscribe returns before the group is joined
				subs[f[2]] = s
				say("ok %s", f[2])
			}
		case f[0] == "unsub" && len(f) == 2:
			if s := subs[f[1]]; s != nil {
				s.Close()
				delete(subs, f[1])
			}
			say("ok %s", f[1])
		case f[0] == "pub" && len(f) == 4:
			n, _ := strconv.Atoi(f[3])
			var first time.Time
			first, err = agentPublish(p, f[1], f[2], n)
			if err == nil {
				say("sent %s %d", f[2], first.UnixNano())
			}
		case f[0] == "stats":
			b, _ := json.Marshal(m.Stats())
			say("stats %s", b)
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "agent:", err)
			return 1
		}
	}
	return 0
}

func agentSubscribe(p *plexo.Plexus, typ, name string, got func(string)) (*plexo.Subscription, error) {
	ctx := context.Background()
	switch typ {
	case "string":
		return plexo.NewTopic[*wrapperspb.StringValue](name).Subscribe(ctx, p, func(_ context.Context, v *wrapperspb.StringValue) { got(v.Value) })
	case "int64":
		return plexo.NewTopic[*wrapperspb.Int64Value](name).Subscribe(ctx, p, func(_ context.Context, v *wrapperspb.Int64Value) { got(strconv.FormatInt(v.Value, 10)) })
	case "bytes":
		return plexo.NewTopic[*wrapperspb.BytesValue](name).Subscribe(ctx, p, func(_ context.Context, v *wrapperspb.BytesValue) { got(strconv.Itoa(len(v.Value))) })
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func agentPublish(p *plexo.Plexus, typ, name string, n int) (time.Time, error) {
	ctx := context.Background()
	var first time.Time
	for i := range n {
		if i == 0 {
			first = time.Now()
		}
		var err error
		switch typ {
		case "string":
			err = plexo.NewTopic[*wrapperspb.StringValue](name).Publish(ctx, p, wrapperspb.String(strconv.Itoa(i)))
		case "int64":
			err = plexo.NewTopic[*wrapperspb.Int64Value](name).Publish(ctx, p, wrapperspb.Int64(int64(i)))
		case "bytes":
			err = plexo.NewTopic[*wrapperspb.BytesValue](name).Publish(ctx, p, wrapperspb.Bytes(make([]byte, n)))
		default:
			err = fmt.Errorf("unknown type %q", typ)
		}
		if err != nil {
			return first, err
		}
	}
	return first, nil
}

// An agent is a child process running runAgent, seen from the test.
type agent struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr lockedBuffer
	read   chan struct{} // closed when its output ends

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every line
	replies []string
	gots    []delivery
}

// A delivery is a message an agent's handler received.
type delivery struct {
	topic, value string
	at           time.Time
}

// startAgent starts an agent process in this (private) namespace; it is
// stopped when the test ends.
func startAgent(t testing.TB, name string, env ...string) *agent {
	t.Helper()
	return startAgentCmd(t, name, nil, env...)
}

// startAgentCmd starts an agent under the command wrap (such as unshare
// -n), or directly when wrap is empty.
func startAgentCmd(t testing.TB, name string, wrap []string, env ...string) *agent {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, name: name, read: make(chan struct{}), changed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	argv := append(append([]string(nil), wrap...), exe)
	a.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	a.cmd.Env = append(append(os.Environ(), agentEnv+"=1", netnstest.NoExitSleep()), env...)
	a.cmd.Stderr = &a.stderr
	if a.in, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go a.scan(out)
	t.Cleanup(func() {
		defer cancel()
		a.in.Close()
		<-a.read
		if err := a.cmd.Wait(); err != nil {
			t.Errorf("agent %s: %v\n%s", a.name, err, a.stderr.String())
		}
	})
	return a
}

func (a *agent) scan(out io.Reader) {
	defer close(a.read)
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		a.mu.Lock()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "got" {
			ns, _ := strconv.ParseInt(f[3], 10, 64)
			a.gots = append(a.gots, delivery{f[1], f[2], time.Unix(0, ns)})
		} else {
			a.replies = append(a.replies, line)
		}
		close(a.changed)
		a.changed = make(chan struct{})
		a.mu.Unlock()
	}
}

// do sends a command and returns the rest of its reply, which must start
// with want.
func (a *agent) do(want, format string, args ...any) string {
	a.t.Helper()
	if _, err := fmt.Fprintf(a.in, format+"\n", args...); err != nil {
		a.t.Fatalf("agent %s: %v", a.name, err)
	}
	deadline := time.After(10 * time.Second)
	for {
		a.mu.Lock()
		if len(a.replies) > 0 {
			r := a.replies[0]
			a.replies = a.replies[1:]
			a.mu.Unlock()
			rest, ok := strings.CutPrefix(r, want+" ")
			if !ok {
				a.t.Fatalf("agent %s: reply %q to %q, want %q", a.name, r, fmt.Sprintf(format, args...), want)
			}
			return rest
		}
		ch := a.changed
		a.mu.Unlock()
		select {
		case <-ch:
		case <-a.read:
			a.mu.Lock()
			n := len(a.replies)
			a.mu.Unlock()
			if n == 0 {
				a.t.Fatalf("agent %s exited: %s", a.name, a.stderr.String())
			}
		case <-deadline:
			a.t.Fatalf("agent %s: no reply to %q", a.name, fmt.Sprintf(format, args...))
		}
	}
}

func (a *agent) subscribe(typ, topic string) { a.t.Helper(); a.do("ok", "sub %s %s", typ, topic) }

// publish publishes n values and returns when the first went out.
func (a *agent) publish(typ, topic string, n int) time.Time {
	a.t.Helper()
	rest := a.do("sent", "pub %s %s %d", typ, topic, n)
	_, ns, _ := strings.Cut(rest, " ")
	v, _ := strconv.ParseInt(ns, 10, 64)
	return time.Unix(0, v)
}

func (a *agent) stats() multicast.Stats {
	a.t.Helper()
	var stats multicast.Stats
	if err := json.Unmarshal([]byte(a.do("stats", "stats")), &stats); err != nil {
		a.t.Fatal(err)
	}
	return stats
}

// received waits until n messages of topic arrived or the timeout passed,
// and returns those that did.
func (a *agent) received(topic string, n int, timeout time.Duration) []delivery {
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		var got []delivery
		for _, d := range a.gots {
			if d.topic == topic {
				got = append(got, d)
			}
		}
		ch := a.changed
		a.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			return got
		}
	}
}

// topicsReceived returns the topics of every delivery so far.
func (a *agent) topicsReceived() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]int)
	for _, d := range a.gots {
		m[d.topic]++
	}
	return m
}

// A lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
