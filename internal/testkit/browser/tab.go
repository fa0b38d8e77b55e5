package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// TabTimeout is the deadline of the context Tab returns: every action
	// of a test on its tab must end within it.
	TabTimeout = 2 * time.Minute
	// expectTimeout bounds the wait, when the test ends, for an error that
	// ExpectConsoleError announced and that has not arrived yet.
	expectTimeout = 5 * time.Second
	// tabCallTimeout bounds each step of a tab's own life: its opening, the
	// round trip at the end of the test and its close.
	tabCallTimeout = 30 * time.Second
	// maxRecorded caps the console errors kept per tab; a page in a loop of
	// errors must not grow the test's memory without bound.
	maxRecorded = 100
)

type tabKey struct{}

// tab is the state of one test's tab: what its console said and the
// headers every request of the tab carries.
type tab struct {
	mu       sync.Mutex
	errors   []string  // console errors, in the order they came
	dropped  int       // errors past maxRecorded, counted only
	expected []*expect // ExpectConsoleError calls
	changed  chan struct{}
	headers  map[string]string // set by SetLanguage and SetAuthorization
}

// expect is an error a test announced: messages containing substr are
// allowed, and at least one must come.
type expect struct {
	substr string
	seen   int
}

// Tab opens a new tab in the shared browser for the test and returns its
// chromedp context. The tab has its own browser context (no cookies or
// storage shared with other tests), its actions must end within TabTimeout,
// and it is closed when the test ends. A console error on any page of the
// tab fails the test then, unless ExpectConsoleError announced it.
//
// Tab skips the test when no browser is installed and none is required
// (see EnvBrowser).
func Tab(t testing.TB) context.Context {
	t.Helper()
	browserCtx := sharedBrowser(t)
	state := &tab{changed: make(chan struct{}, 1), headers: map[string]string{}}
	tabCtx, cancelTab := chromedp.NewContext(browserCtx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(state.listen),
	)
	// The first Do creates the tab and binds its life to tabCtx: it runs
	// before the deadline is added, so the deadline ends actions, not the tab.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tabCtx) }()
	select {
	case err := <-opened:
		if err != nil {
			cancelTab()
			t.Fatalf("browser: opening a tab: %v", err)
		}
	case <-time.After(tabCallTimeout):
		cancelTab()
		t.Fatalf("browser: opening a tab: no answer after %s", tabCallTimeout)
	}
	ctx, cancelDeadline := context.WithTimeout(context.WithValue(tabCtx, tabKey{}, state), TabTimeout)
	t.Cleanup(func() {
		cancelDeadline()
		state.check(t, tabCtx)
		closeCtx, cancel := context.WithTimeout(tabCtx, tabCallTimeout)
		defer cancel()
		_ = chromedp.Cancel(closeCtx) // closes the tab and disposes its browser context
		cancelTab()
	})
	return ctx
}

// ExpectConsoleError announces that a page of the tab will log a console
// error containing substr (for example a test of a CSP violation). Such
// errors then do not fail the test, and the test fails if none has come by
// the time it ends. Call it before the action that provokes the error.
func ExpectConsoleError(t testing.TB, ctx context.Context, substr string) {
	t.Helper()
	state := tabOf(t, ctx)
	state.mu.Lock()
	defer state.mu.Unlock()
	state.expected = append(state.expected, &expect{substr: substr})
	// An error that came before the call is matched too.
	for _, e := range state.errors {
		if strings.Contains(e, substr) {
			state.expected[len(state.expected)-1].seen++
		}
	}
}

// tabOf returns the state of the tab ctx belongs to.
func tabOf(t testing.TB, ctx context.Context) *tab {
	t.Helper()
	state, ok := ctx.Value(tabKey{}).(*tab)
	if !ok {
		t.Fatal("browser: the context does not come from browser.Tab")
	}
	return state
}

// listen records the console errors of the tab. chromedp calls it on the
// goroutine that reads the tab's messages, in the order they arrive, so it
// only takes a lock and returns.
func (s *tab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = "console." + string(ev.Type) + ": " + argsText(ev.Args) + stackPlace(ev.StackTrace)
	case *runtime.EventExceptionThrown:
		msg = "uncaught exception: " + exceptionText(ev.ExceptionDetails)
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError || isFaviconGuess(ev.Entry) {
			return
		}
		msg = "browser log (" + string(ev.Entry.Source) + "): " + ev.Entry.Text
		if ev.Entry.URL != "" {
			msg += " [" + ev.Entry.URL + "]"
		}
	default:
		return
	}
	s.record(msg)
}

// isFaviconGuess reports a failed load of /favicon.ico, which Chromium
// fetches by itself for a page that declares no icon. It is not counted: the
// fetch comes after the page has loaded, and Chromium makes it once per
// origin for the whole browser, so whether a test saw it would depend on
// which test came first. (A declared icon that fails to load is not logged
// at all, so icons are outside what the tab can check.)
func isFaviconGuess(e *log.Entry) bool {
	if e.Source != log.EntrySourceNetwork {
		return false
	}
	u, err := url.Parse(e.URL)
	return err == nil && u.Path == "/favicon.ico"
}

func (s *tab) record(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.expected {
		if strings.Contains(msg, e.substr) {
			e.seen++
		}
	}
	if len(s.errors) < maxRecorded {
		s.errors = append(s.errors, msg)
	} else {
		s.dropped++
	}
	select {
	case s.changed <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// check fails t for every console error nobody expected and for every
// expected error that never came. It first makes a round trip to the tab:
// chromedp hands the tab's events to listen before the reply that follows
// them, so every message the browser sent before is recorded.
func (s *tab) check(t testing.TB, tabCtx context.Context) {
	t.Helper()
	flushCtx, cancel := context.WithTimeout(tabCtx, tabCallTimeout)
	defer cancel()
	if _, err := chromedp.Run(flushCtx, chromedp.Location()); err != nil {
		t.Logf("browser: the tab did not answer at the end of the test (%v); its last console messages may be missing", err)
	}

	deadline := time.NewTimer(expectTimeout)
	defer deadline.Stop()
	for waiting := true; waiting; {
		s.mu.Lock()
		missing := s.missing()
		s.mu.Unlock()
		if len(missing) == 0 {
			break
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			waiting = false
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, substr := range s.missing() {
		t.Errorf("browser: expected a console error containing %q, none came; errors seen: %q", substr, s.errors)
	}
	var unexpected []string
	for _, e := range s.errors {
		if !s.allowed(e) {
			unexpected = append(unexpected, e)
		}
	}
	if len(unexpected) > 0 || s.dropped > 0 {
		t.Errorf("browser: the pages of the tab logged %d console error(s) (and %d more not kept):\n  %s",
			len(unexpected), s.dropped, strings.Join(unexpected, "\n  "))
	}
}

// missing returns the expected errors not seen yet. s.mu is held.
func (s *tab) missing() []string {
	var out []string
	for _, e := range s.expected {
		if e.seen == 0 {
			out = append(out, e.substr)
		}
	}
	return out
}

// allowed reports whether an ExpectConsoleError call covers msg. s.mu is
// held.
func (s *tab) allowed(msg string) bool {
	for _, e := range s.expected {
		if strings.Contains(msg, e.substr) {
			return true
		}
	}
	return false
}

// argsText renders the arguments of a console call the way DevTools shows
// them in short: strings as they are, other values by their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, remoteText(a))
	}
	return strings.Join(parts, " ")
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil {
		// The description of an Error holds its message and stack; the
		// first line is enough here.
		desc, _, _ := strings.Cut(remoteText(d.Exception), "\n")
		text += " " + desc
	}
	if d.URL != "" {
		text += fmt.Sprintf(" [%s:%d]", d.URL, d.LineNumber+1)
	}
	return text
}

// stackPlace names where a console call was made, when the browser says.
func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" [%s:%d]", f.URL, f.LineNumber+1)
}
