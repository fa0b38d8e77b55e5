package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Eval runs the JavaScript expression in the page the tab shows and returns
// its value, decoded from JSON into T (a bool, a number, a string, or a
// struct or slice of them). An exception fails the test; it is the result
// of the call, not an uncaught exception of the page.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	return run(t, ctx, "evaluating "+expr, chromedp.Evaluate[T](expr))
}

// WaitUntil waits, at most ActionTimeout, for the JavaScript expression to
// be true in the page the tab shows, checking it each time the page
// changes and every few milliseconds: a script's answer that arrives
// later (a live preview) is waited for, not slept for. what says in the
// failure what was waited for.
func WaitUntil(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	run(t, ctx, "waiting for "+what+" ("+expr+")", chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(ActionTimeout)))
}

// Focus gives the keyboard focus to the first element matching the CSS
// selector, as a Tab to it would.
func Focus(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	run(t, ctx, "focusing "+sel, chromedp.Focus(chromedp.CSS(sel)))
}

// Press types keys on the keyboard into whatever has the focus: each rune
// is a key down, its character and a key up, as a person's typing; the
// keys of github.com/chromedp/chromedp/kb ("\t" Tab, "\r" Enter, " "
// Space, kb.ArrowRight) are the keys themselves. A key that leads to
// another page (Enter on a button) is sent with PressToSubmit.
func Press(t testing.TB, ctx context.Context, keys string) {
	t.Helper()
	run(t, ctx, fmt.Sprintf("pressing %q", keys), chromedp.KeyEvent(keys))
}

// PressToSubmit types keys as Press does, waits for the page they lead to
// to load, and returns its HTTP status (after a redirect, that of the page
// the redirect ends on).
func PressToSubmit(t testing.TB, ctx context.Context, keys string) int {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.KeyEvent(keys))
	if err != nil {
		t.Fatalf("browser: pressing %q to submit: %v (no page loaded: was the focus on a button or a form field?)", keys, err)
	}
	return status(resp)
}

// Dialogs are the JavaScript dialogs (alert, confirm, prompt) a tab's pages
// opened, answered by AnswerDialogs.
type Dialogs struct {
	mu       sync.Mutex
	messages []string
}

// Messages returns the dialogs' messages, in the order they opened.
func (d *Dialogs) Messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.messages...)
}

// AnswerDialogs makes the tab answer every JavaScript dialog its pages
// open from now until the test ends: OK when accept, Cancel otherwise. A
// page, and the action that made it open the dialog (a click on a button
// whose form asks with confirm()), waits for the answer; without
// AnswerDialogs such an action waits until its timeout.
func AnswerDialogs(t testing.TB, ctx context.Context, accept bool) *Dialogs {
	t.Helper()
	tabOf(t, ctx) // only a tab's context
	d := &Dialogs{}
	lctx, cancel := context.WithCancel(ctx)
	// The subscription is made here, before any later action can open a
	// dialog; the loop reads it.
	opening := chromedp.Events(lctx, page.JavascriptDialogOpening)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev, err := range opening {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.messages = append(d.messages, ev.Message)
			d.mu.Unlock()
			// The answer is a command of its own; it is sent from another
			// goroutine than the one reading the events, so the two never
			// wait for each other.
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := chromedp.Do(lctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
					return err
				}))
				if err != nil && !errors.Is(err, context.Canceled) && lctx.Err() == nil {
					t.Errorf("browser: answering the dialog %q: %v", ev.Message, err)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return d
}
