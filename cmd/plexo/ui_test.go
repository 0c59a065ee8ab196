package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plexo-go/plexo/cmd/plexo/internal/testpb"
	plexotestv1 "github.com/plexo-go/plexo/cmd/plexo/internal/testpb/plexotest/v1"
)

// uiProc is a running `plexo ui`.
type uiProc struct {
	cmd    *exec.Cmd
	url    string
	stderr strings.Builder
	done   chan error
}

// startUI runs plexo with args (which should end with "ui ...") and waits
// for the URL it prints. The test stops it with SIGINT at its end and
// expects a clean exit.
func startUI(t *testing.T, args ...string) *uiProc {
	t.Helper()
	u := &uiProc{cmd: exec.Command(plexoBin, args...), done: make(chan error, 1)}
	stdout, err := u.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	u.cmd.Stderr = &u.stderr
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		u.done <- u.cmd.Wait()
	}()
	t.Cleanup(func() {
		u.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-u.done:
			if err != nil {
				t.Errorf("plexo ui did not exit cleanly on SIGINT: %v; stderr: %s", err, u.stderr.String())
			}
		case <-time.After(10 * time.Second):
			u.cmd.Process.Kill()
			<-u.done
			t.Errorf("plexo ui still running 10s after SIGINT")
		}
	})
	select {
	case u.url = <-lines:
	case err := <-u.done:
		t.Fatalf("plexo ui ended: %v; stderr: %s", err, u.stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("plexo ui printed no URL within 15s; stderr: %s", u.stderr.String())
	}
	if !strings.HasPrefix(u.url, "http://127.0.0.1:") {
		t.Fatalf("plexo ui printed %q, want http://127.0.0.1:PORT/", u.url)
	}
	return u
}

// chromium finds Debian's chromium, skipping the test without it.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("PLEXO_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("PLEXO_REQUIRE_CHROMIUM") != "" {
		t.Fatal("no chromium, and PLEXO_REQUIRE_CHROMIUM is set (apt-get install -y chromium, or set PLEXO_CHROMIUM)")
	}
	t.Skip("no chromium (apt-get install -y chromium, or set PLEXO_CHROMIUM)")
	return ""
}

// browser starts a headless chromium with a fresh profile and returns a
// tab's context, cancelled (the browser closed and waited for) at the end
// of the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancelTab()
		cancelAlloc()
	})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// artifacts returns the directory for the test's screenshots.
func artifacts(t *testing.T) string {
	if dir := os.Getenv("PLEXO_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// screenshot saves the page as it looks now.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// poll waits for a JavaScript expression to be true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
}

// TestUIBrowser drives the page in headless chromium through its contract
// hooks: topic rows with a rate, a selected topic's decoded messages, and
// publishing from the page.
func TestUIBrowser(t *testing.T) {
	ctx := browser(t)
	pub := startPeer(t, "--tcp-listen", "127.0.0.1:0", "--readings", "-1", "--notes", "-1", "--interval", "20ms", "--sub-notes")
	u := startUI(t, "--tcp-dial", pub.addr, "ui", "--http", "127.0.0.1:0", "--allow-publish")
	dir := artifacts(t)

	const reading = plexotestv1.ReadingTopicName
	row := fmt.Sprintf(`tr[data-topic=%q]`, reading)
	rateSel := chromedp.CSS(row + ` [data-field="rate"]`)
	err := chromedp.Do(ctx,
		chromedp.Navigate(u.url),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-topic=%q]`, plexotestv1.NoteTopicName))),
		// The rate is a number, above zero once a second has been sampled.
		poll(fmt.Sprintf(`parseFloat(document.querySelector('%s [data-field="rate"]').textContent) > 0`, row)),
	)
	if err != nil {
		t.Fatalf("topic rows with a rate: %v; stderr: %s", err, u.stderr.String())
	}
	rate, err := chromedp.Run(ctx, chromedp.Text(rateSel))
	if err != nil {
		t.Fatal(err)
	}
	// 20 ms between readings: about 50 a second.
	if r, err := strconv.ParseFloat(rate, 64); err != nil || r < 10 || r > 100 {
		t.Errorf("rate of %s is %q, want a number near 50", reading, rate)
	}

	// Select with the keyboard: / focuses the filter, which narrows the
	// table; ArrowDown reaches the row, Enter selects it.
	err = chromedp.Do(ctx,
		chromedp.KeyEvent("/"),
		chromedp.KeyEvent("Reading"),
		poll(`document.querySelectorAll('#topic-rows tr').length === 1`),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-pane="messages"] [data-message]`)),
	)
	if err != nil {
		dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 200) + " filter=" + document.getElementById("filter").value + " rows=" + document.querySelectorAll("#topic-rows tr").length`))
		t.Fatalf("selecting %s with the keyboard: %v (%s)", reading, err, dbg)
	}
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-pane="messages"] [data-message]')].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 {
		t.Fatal("no decoded message")
	}
	var last uint64
	for i, text := range texts {
		got := new(plexotestv1.Reading)
		if err := protojson.Unmarshal([]byte(text), got); err != nil {
			t.Fatalf("message %d is not a Reading in JSON: %v\n%s", i, err, text)
		}
		if want := testpb.Reading(got.GetSeq()); !proto.Equal(got, want) {
			t.Errorf("message %d decodes as %v, want %v", i, got, want)
		}
		if i > 0 && got.GetSeq() >= last {
			t.Errorf("messages not newest first: seq %d after %d", got.GetSeq(), last)
		}
		last = got.GetSeq()
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("/"), chromedp.KeyEvent(kb.Escape), poll(`document.querySelectorAll("#topic-rows tr").length === 2`), chromedp.Sleep(1200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, dir, "ui-1280x800.png")

	// Publish a note from the page; the peer subscribes to notes.
	const note = plexotestv1.NoteTopicName
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-topic=%q]`, note))),
		poll(`document.getElementById('publish-text').value.includes('"text"')`),
		chromedp.Click(chromedp.CSS(`#publish-details summary`)),
		chromedp.SetValue(chromedp.ID("publish-text"), `{"text": "from the page", "seq": 424242}`),
		chromedp.Click(chromedp.CSS(`#publish button[type=submit]`)),
		poll(`document.getElementById('publish-result').textContent.startsWith('published')`),
	)
	if err != nil {
		t.Fatalf("publishing from the page: %v", err)
	}
	pub.waitLine(t, 10*time.Second, func(l string) bool {
		j, ok := strings.CutPrefix(l, note+" ")
		if !ok {
			return false
		}
		var n plexotestv1.Note
		return protojson.Unmarshal([]byte(j), &n) == nil && n.GetSeq() == 424242 && n.GetText() == "from the page"
	})

	// A phone-sized viewport.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Click(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS(`[data-pane="messages"] [data-message]`)),
		chromedp.Sleep(500*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("phone viewport: %v", err)
	}
	screenshot(t, ctx, dir, "ui-phone-390x844.png")

	// The hooks, as an outside check reads them.
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-topic]')].map(e => e.dataset.topic)`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rows)
	if !strings.Contains(string(b), reading) || !strings.Contains(string(b), note) {
		t.Errorf("rows %s lack %s or %s", b, reading, note)
	}
}

// TestUIFlags checks --http: loopback names bind quietly, a bad address
// fails with one line.
func TestUIFlags(t *testing.T) {
	u := startUI(t, "ui", "--http", "localhost:0")
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(u.stderr.String(), "not loopback") {
		t.Errorf("warned for localhost: %s", u.stderr.String())
	}
	res, err := http.Get(u.url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET %s: %s %s", u.url, res.Status, res.Header.Get("Content-Type"))
	}

	plexo(t, 10*time.Second, "ui", "--http", "nonsense").failed(t, "ui: --http")
	busy := strings.TrimSuffix(strings.TrimPrefix(u.url, "http://"), "/")
	plexo(t, 10*time.Second, "ui", "--http", busy).failed(t, "ui: ", "address already in use")
}

// TestUIMulticast checks, in a private network namespace, that the System
// panel shows a multicast transport with the agreed group of each topic.
func TestUIMulticast(t *testing.T) {
	if !netns(t) {
		return
	}
	startPeer(t, "--multicast", "lo", "--readings", "-1", "--interval", "20ms")
	u := startUI(t, "--multicast", "lo", "ui", "--http", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u.url+"events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || event != "system" {
			continue
		}
		var sys struct {
			Transports []struct {
				Name, Kind string
				Stats      []struct{ Name string }
				Groups     []struct{ Topic, Group string }
			}
		}
		if err := json.Unmarshal([]byte(data), &sys); err != nil {
			t.Fatal(err)
		}
		if len(sys.Transports) != 1 || sys.Transports[0].Kind != "multicast" || sys.Transports[0].Name != "multicast lo" {
			t.Fatalf("transports %+v, want one multicast on lo", sys.Transports)
		}
		for _, g := range sys.Transports[0].Groups {
			if g.Topic == plexotestv1.ReadingTopicName && strings.HasPrefix(g.Group, "239.") {
				hasRelocations := false
				for _, s := range sys.Transports[0].Stats {
					hasRelocations = hasRelocations || s.Name == "Relocations"
				}
				if !hasRelocations {
					t.Errorf("no Relocations among the multicast counters")
				}
				return
			}
		}
	}
	t.Fatalf("no system event with the group of %s: %v", plexotestv1.ReadingTopicName, sc.Err())
}
