package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvBrowser names the Chromium binary. When it is set, the browser tests
// are required: a missing or broken browser fails them instead of skipping.
const EnvBrowser = "FORBEAR_BROWSER"

// defaultBinary is looked up on PATH when EnvBrowser is empty; it is the name
// the Debian package "chromium" installs.
const defaultBinary = "chromium"

// installHint tells a developer without Chromium how to get the browser
// tests to run.
const installHint = "install Chromium (Debian: apt-get install chromium) or set " +
	EnvBrowser + " to its binary; ./scripts/test installs it when it is missing"

const (
	// startTimeout bounds the start of the shared browser: a cold start on a
	// busy 2-core machine takes a few seconds.
	startTimeout = time.Minute
	// closeTimeout bounds the graceful close at the end of the tests; after
	// it the process is killed.
	closeTimeout = 15 * time.Second
	// outputLimit is how much of the browser's own output is kept to explain
	// a failed start.
	outputLimit = 4 << 10
)

// mainRunning is set by Main: tabs are only handed out when the browser is
// sure to be closed at the end of the test binary.
var mainRunning atomic.Bool

// shared is the one browser of the test process, started by the first Tab.
var shared struct {
	mu    sync.Mutex
	tried bool
	ctx   context.Context // chromedp context holding the browser
	stop  func()          // closes the browser and removes its profile
	skip  string          // why the tests skip (no browser, not required)
	err   error           // why the tests fail (required browser broken)
}

// Main runs the tests of a package and closes the shared browser after
// them. Call it from TestMain; it returns the way m.Run does, so the test
// binary exits with the tests' status:
//
//	func TestMain(m *testing.M) { browser.Main(m) }
//
// Setup of other shared parts can go before it and their teardown in a
// defer, as with a plain m.Run.
func Main(m *testing.M) {
	mainRunning.Store(true)
	defer mainRunning.Store(false)
	defer closeShared()
	m.Run()
}

// sharedBrowser returns the chromedp context of the shared browser, starting
// it on first use. It skips the test when no browser is installed and none is
// required, and fails it when the browser cannot start.
func sharedBrowser(t testing.TB) context.Context {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("browser: the package's TestMain must call browser.Main(m), so the shared browser closes when the tests end")
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.tried {
		shared.tried = true
		start := time.Now()
		shared.ctx, shared.stop, shared.skip, shared.err = startBrowser()
		if shared.err == nil && shared.skip == "" {
			t.Logf("browser: Chromium started in %s", time.Since(start).Round(time.Millisecond))
		}
	}
	switch {
	case shared.err != nil:
		t.Fatal(shared.err)
	case shared.skip != "":
		t.Skip(shared.skip)
	}
	return shared.ctx
}

// startBrowser finds Chromium and starts it. It returns a skip reason
// instead of an error only when no browser is installed and EnvBrowser does
// not require one.
func startBrowser() (ctx context.Context, stop func(), skip string, err error) {
	path, skip, err := findBinary()
	if skip != "" || err != nil {
		return nil, nil, skip, err
	}
	output := &tailBuffer{limit: outputLimit}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		// The test machines have no network beyond loopback: everything
		// Chromium would fetch by itself (field trials, components, QUIC
		// probes) is refused there, many connections at a time, so none of
		// it is started. The defaults already turn off background
		// networking, sync and the first-run page. As root, chromedp adds
		// --no-sandbox, and it gives every start a new empty profile
		// directory that it removes when the browser ends.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop = func() {
		closeCtx, cancel := context.WithTimeout(browserCtx, closeTimeout)
		defer cancel()
		_ = chromedp.Cancel(closeCtx) // a failed graceful close still ends below
		cancelBrowser()
		cancelAlloc() // waits for the process and removes the profile
	}

	// The first Do starts the browser and binds it to browserCtx, so it must
	// not run under a timeout context; the timeout is kept here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		err = fmt.Errorf("no answer after %s", startTimeout)
	}
	if err != nil {
		stop()
		return nil, nil, "", fmt.Errorf("browser: starting %s: %w\nits output:\n%s", path, err, output)
	}
	return browserCtx, stop, "", nil
}

// findBinary returns the Chromium binary to run, or why there is none.
func findBinary() (path, skip string, err error) {
	if want := os.Getenv(EnvBrowser); want != "" {
		path, err := exec.LookPath(want)
		if err != nil {
			return "", "", fmt.Errorf("browser: %s=%q: %w (%s)", EnvBrowser, want, err, installHint)
		}
		return path, "", nil
	}
	path, err = exec.LookPath(defaultBinary)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Sprintf("browser: no %q on PATH, browser tests skipped: %s", defaultBinary, installHint), nil
	}
	if err != nil {
		return "", "", fmt.Errorf("browser: looking for %q: %w", defaultBinary, err)
	}
	return path, "", nil
}

// closeShared closes the shared browser if a test started it.
func closeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stop != nil {
		shared.stop()
	}
	shared.ctx, shared.stop, shared.tried = nil, nil, false
}

// tailBuffer keeps the last bytes written to it; the browser writes from its
// own goroutines.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	limit int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
