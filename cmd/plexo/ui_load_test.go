package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"

	plexolib "github.com/plexo-go/plexo"
	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
	"github.com/plexo-go/plexo/runtime/tcp"
)

// loadEnv turns on TestUILoad, which takes about a minute.
const loadEnv = "PLEXO_UI_LOAD"

// TestUILoad measures the CPU of `plexo ui` watching 1,000 topics at one
// message a second each and one topic at 100,000 messages a second, all
// published by this test over TCP on loopback. It logs the figures of
// BENCHMARKS.md. Run it with PLEXO_UI_LOAD=1.
func TestUILoad(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skipf("set %s=1 to measure plexo ui under load", loadEnv)
	}
	const (
		coldTopics = 1000
		hotRate    = 100_000 // messages a second on the hot topic
		window     = 10 * time.Second
	)
	hot := "load.v1.Hot.proto"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := plexolib.New()
	defer p.Close()
	ln, err := tcp.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(ln); err != nil {
		t.Fatal(err)
	}
	md := (&plexotestv1.Reading{}).ProtoReflect().Descriptor()
	topics := make([]string, coldTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("load.v1.T%04d.proto", i)
	}
	for _, topic := range append([]string{hot}, topics...) {
		if err := p.DescribeTopic(topic, md); err != nil {
			t.Fatal(err)
		}
	}
	payload, _ := proto.Marshal(testpb.Reading(42))

	// The publishers: the hot topic in batches of 100 every millisecond,
	// the cold ones one a second each, spread over the second.
	var published atomic.Uint64
	var wg sync.WaitGroup
	limit := time.Now().Add(2 * time.Minute) // bounded, whatever happens
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		start, sent := time.Now(), 0
		for time.Now().Before(limit) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			due := int(time.Since(start).Seconds() * hotRate)
			for ; sent < due; sent++ {
				if p.PublishRaw(ctx, hot, payload) != nil {
					return
				}
				published.Add(1)
			}
		}
	})
	wg.Go(func() {
		tick := time.NewTicker(time.Second / coldTopics)
		defer tick.Stop()
		for i := 0; time.Now().Before(limit); i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = p.PublishRaw(ctx, topics[i%coldTopics], payload)
		}
	})
	defer wg.Wait()
	defer cancel()

	self := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	measure := func(what string, pid int) {
		time.Sleep(2 * time.Second) // settle
		pub0, n0, t0 := self(), published.Load(), time.Now()
		var ui0 float64
		if pid != 0 {
			ui0 = cpuSeconds(t, pid)
		}
		time.Sleep(window)
		secs := time.Since(t0).Seconds()
		line := fmt.Sprintf("%-40s publisher: %6.0f msgs/s, %5.1f%% CPU", what, float64(published.Load()-n0)/secs, 100*(self()-pub0)/secs)
		if pid != 0 {
			line += fmt.Sprintf("; plexo ui: %5.1f%% CPU", 100*(cpuSeconds(t, pid)-ui0)/secs)
		}
		t.Log(line)
	}

	measure("no plexo ui", 0)
	u := startUI(t, "--tcp-dial", ln.Addr().String(), "ui", "--http", "127.0.0.1:0")
	pid := u.cmd.Process.Pid
	waitTopics(t, u.url, coldTopics+1)
	measure("plexo ui, no viewer", pid)

	viewer := func(query string) (stop func() (int64, time.Duration)) {
		vctx, vcancel := context.WithCancel(ctx)
		req, _ := http.NewRequestWithContext(vctx, "GET", u.url+"events"+query, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var n atomic.Int64
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			buf := make([]byte, 64<<10)
			for {
				k, err := res.Body.Read(buf)
				n.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
		return func() (int64, time.Duration) {
			vcancel()
			<-done
			res.Body.Close()
			return n.Load(), time.Since(start)
		}
	}
	stop := viewer("")
	measure("plexo ui, one viewer of the table", pid)
	n, d := stop()
	t.Logf("event stream to a viewer of the table: %.1f kB/s", float64(n)/d.Seconds()/1000)
	stop = viewer("?topic=" + hot)
	measure("plexo ui, one viewer of the hot topic", pid)
	n, d = stop()
	t.Logf("event stream to a viewer of the hot topic: %.1f kB/s", float64(n)/d.Seconds()/1000)

	// The page itself, in chromium, sorted by rate: long tasks (over 50 ms,
	// which delay input) over the window.
	bctx := browser(t)
	err = chromedp.Do(bctx,
		chromedp.Navigate(u.url+"#"+hot),
		chromedp.WaitVisible(chromedp.CSS(`[data-pane="messages"] [data-message]`)),
		poll(fmt.Sprintf(`document.querySelectorAll('#topic-rows tr').length === %d`, coldTopics+1)),
		chromedp.Click(chromedp.CSS(`th[data-sort="rate"] button`)),
		chromedp.Evaluate[chromedp.Void](`window.longTasks = []; new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map(e => e.duration))).observe({type: "longtask"}); 0`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`for (const k in window.plexoPerf) delete window.plexoPerf[k]; 0`)); err != nil {
		t.Fatal(err)
	}
	measure("plexo ui, chromium showing the hot topic", pid)
	perf, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]struct {
		Count   int     `json:"count"`
		MaxMs   float64 `json:"maxMs"`
		TotalMs float64 `json:"totalMs"`
	}](`window.plexoPerf`))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range perf {
		t.Logf("page: %-8s events: %3d, handled in %.1f ms on average, %.1f ms at most", name, p.Count, p.TotalMs/float64(max(p.Count, 1)), p.MaxMs)
	}
	long, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`window.longTasks`))
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for _, d := range long {
		worst = max(worst, d)
	}
	t.Logf("page: %d long tasks (> 50 ms) in %v, the longest %.0f ms", len(long), window+2*time.Second, worst)
	screenshot(t, bctx, artifacts(t), "ui-load-1001-topics.png")
}

// cpuSeconds reads the user and system CPU time of process pid.
func cpuSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ, 100 on Linux
}

// waitTopics waits until the page's first "topics" event lists n topics.
func waitTopics(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"events", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					if strings.Count(data, `"topic":`) >= n {
						res.Body.Close()
						cancel()
						return
					}
					break
				}
			}
			res.Body.Close()
		}
		cancel()
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("plexo ui did not list %d topics within 30s", n)
}
