package browser_test

import (
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/forbear/forbear/internal/testkit/browser"
)

func TestMain(m *testing.M) {
	// This package's pictures check the helper; they are not the README's.
	os.Unsetenv(browser.EnvScreenshots)
	browser.Main(m)
}

// strictCSP is the policy of every test page but the one that breaks it:
// scripts only from the page's own origin, as the console serves them.
const strictCSP = "default-src 'self'; script-src 'self'"

// site serves the pages the tests drive. Every page but /csp-violation is
// clean: a console error on it is a fault of the package.
func site(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, title, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if w.Header().Get("Content-Security-Policy") == "" {
			w.Header().Set("Content-Security-Policy", strictCSP)
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title></head><body>%s</body></html>`, title, body)
	}
	script := func(js string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, js)
		}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Home", `<h1>Hello, borrower</h1><p id="by-script">not run</p><script src="/app.js"></script>`)
	})
	mux.HandleFunc("GET /app.js", script(`document.getElementById('by-script').textContent = 'ran under the CSP';`))
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Form", `<form method="post" action="/submit">
<input id="name" name="name"><input id="due" name="due" type="date">
<select id="channel" name="channel"><option value="sms">SMS</option><option value="email">Email</option></select>
<textarea id="note" name="note"></textarea><button id="send" type="submit">Send</button></form>`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/done?"+r.PostForm.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got := fmt.Sprintf("%q", []string{q.Get("name"), q.Get("due"), q.Get("channel"), q.Get("note")})
		page(w, "Done", `<p id="got">`+html.EscapeString(got)+`</p>`)
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Echo", fmt.Sprintf(`<p id="lang">%s</p><p id="auth">%s</p><p id="cookie">%s</p>`,
			html.EscapeString(r.Header.Get("Accept-Language")), html.EscapeString(r.Header.Get("Authorization")),
			html.EscapeString(r.Header.Get("Cookie"))))
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s-1", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		page(w, "Login", `<p id="in">signed in</p>`)
	})
	mux.HandleFunc("GET /tall", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Tall", `<link rel="stylesheet" href="/tall.css"><main>a page taller than any window</main>`)
	})
	mux.HandleFunc("GET /tall.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `main { display: block; height: 3000px; background: linear-gradient(#fff, #9cf); }`)
	})
	mux.HandleFunc("GET /console-error", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Error", `<p id="p">x</p><script src="/error.js"></script>`)
	})
	mux.HandleFunc("GET /error.js", script(`console.error('boom from the page', 42);`))
	mux.HandleFunc("GET /exception", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Exception", `<p id="p">x</p><script src="/throw.js"></script>`)
	})
	mux.HandleFunc("GET /throw.js", script(`throw new TypeError('thrown by the page');`))
	mux.HandleFunc("GET /csp-violation", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
		page(w, "Inline", `<p id="p">x</p><script>document.title = 'inline ran';</script>`)
	})
	mux.HandleFunc("GET /missing-image", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Image", `<p id="p">x</p><img src="/no-such.png" alt="">`)
	})
	mux.HandleFunc("GET /ask", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Ask", `<button id="ask" type="button">Ask</button><p id="answer">none</p><script src="/ask.js"></script>`)
	})
	mux.HandleFunc("GET /ask.js", script(`document.getElementById('ask').addEventListener('click', function () {
  document.getElementById('answer').textContent = String(window.confirm('Really?'));
});`))
	mux.HandleFunc("GET /later", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Later", `<p id="late">soon</p><script src="/later.js"></script>`)
	})
	mux.HandleFunc("GET /later.js", script(`setTimeout(function () { document.getElementById('late').textContent = 'now'; }, 300);`))
	mux.HandleFunc("GET /zone", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Zone", `<p id="zone">unknown</p><script src="/zone.js"></script>`)
	})
	mux.HandleFunc("GET /zone.js", script(`document.getElementById('zone').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestOpenReadsTextOfAPageWithItsOwnScript(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)

	if got := browser.Open(t, ctx, base+"/", "h1"); got != http.StatusOK {
		t.Errorf("status = %d, want 200", got)
	}
	if got, want := browser.Text(t, ctx, "h1"), "Hello, borrower"; got != want {
		t.Errorf("h1 = %q, want %q", got, want)
	}
	// The script the CSP allows ran, and nothing in the console complained.
	if got, want := browser.Text(t, ctx, "#by-script"), "ran under the CSP"; got != want {
		t.Errorf("#by-script = %q, want %q", got, want)
	}
	if got := browser.URL(t, ctx); got != base+"/" {
		t.Errorf("URL = %q, want %q", got, base+"/")
	}
}

func TestFillAndSubmitAFormLeadsToTheNextPage(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)

	browser.Open(t, ctx, base+"/form", "form")
	browser.Fill(t, ctx, "#name", "Li Lei 李雷")
	browser.Fill(t, ctx, "#due", "2026-11-20")
	browser.Fill(t, ctx, "#channel", "email")
	browser.Fill(t, ctx, "#note", "two\nlines")
	if got := browser.Submit(t, ctx, "#send"); got != http.StatusOK {
		t.Errorf("status after submit = %d, want 200 (the page the 303 leads to)", got)
	}
	if got := browser.URL(t, ctx); !strings.HasPrefix(got, base+"/done?") {
		t.Errorf("URL after submit = %q, want %s/done?...", got, base)
	}
	// The textarea's newline comes back as CRLF: what a browser submits.
	if got, want := browser.Text(t, ctx, "#got"), `["Li Lei 李雷" "2026-11-20" "email" "two\r\nlines"]`; got != want {
		t.Errorf("submitted = %q, want %q", got, want)
	}
}

func TestFillRefusesAValueTheFieldCannotTake(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	browser.Open(t, ctx, base+"/form", "form")

	got := innerTest(t, func(tb testing.TB) { browser.Fill(tb, ctx, "#channel", "carrier-pigeon") })
	if !strings.Contains(got, "did not take the value") {
		t.Errorf("Fill with a value no option has: failure = %q, want one saying the field did not take it", got)
	}
}

// TestConsoleErrorsFailTheTest opens each kind of broken page in a tab whose
// test is a recorder, and checks that the end of that test reports the error.
func TestConsoleErrorsFailTheTest(t *testing.T) {
	t.Parallel()
	base := site(t)
	for _, tc := range []struct {
		path string
		want string // in the failure of the inner test
	}{
		{"/console-error", "console.error: boom from the page 42"},
		{"/exception", "uncaught exception: Uncaught TypeError: thrown by the page"},
		{"/csp-violation", "Content Security Policy"},
		{"/missing-image", "404"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			t.Parallel()
			got := innerTest(t, func(tb testing.TB) {
				ctx := browser.Tab(tb)
				browser.Open(tb, ctx, base+tc.path, "#p")
			})
			if !strings.Contains(got, tc.want) {
				t.Errorf("failure of a test whose page broke: %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestExpectedConsoleErrorIsAllowed(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	// This test passes only if the detector sees the CSP violation: an
	// announced error that never comes fails it.
	browser.ExpectConsoleError(t, ctx, "violates the following Content Security Policy directive")
	browser.Open(t, ctx, base+"/csp-violation", "#p")
	if got := browser.Text(t, ctx, "title"); got == "inline ran" {
		t.Error("the inline script ran despite script-src 'self'")
	}
}

func TestExpectedConsoleErrorThatNeverComesFailsTheTest(t *testing.T) {
	t.Parallel()
	base := site(t)
	got := innerTest(t, func(tb testing.TB) {
		ctx := browser.Tab(tb)
		browser.ExpectConsoleError(tb, ctx, "boom")
		browser.Open(tb, ctx, base+"/", "h1")
	})
	if !strings.Contains(got, `expected a console error containing "boom"`) {
		t.Errorf("failure = %q, want the missing expected error named", got)
	}
}

func TestScreenshotIsAPNGOfTheRequestedWidth(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	browser.Open(t, ctx, base+"/tall", "main")
	for _, width := range []int{browser.MobileWidth, browser.DesktopWidth} {
		path := browser.Screenshot(t, ctx, fmt.Sprintf("tall-%d", width), width)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("width %d: %s is not a PNG: %v", width, path, err)
		}
		if cfg.Width != width {
			t.Errorf("screenshot width = %d, want %d", cfg.Width, width)
		}
		// Full page: the 3000 px main is in the picture, not one window.
		if cfg.Height < 3000 {
			t.Errorf("width %d: screenshot height = %d, want the whole page (>= 3000)", width, cfg.Height)
		}
	}
}

func TestScreenshotTopIsCutAtTheHeightAsked(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	browser.Open(t, ctx, base+"/tall", "main")
	path := browser.ScreenshotTop(t, ctx, "tall-top", browser.MobileWidth, 1000)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != browser.MobileWidth || cfg.Height != 1000 {
		t.Errorf("screenshot %dx%d, want %dx1000 of a 3000 px page", cfg.Width, cfg.Height, browser.MobileWidth)
	}
}

func TestAnswerDialogs(t *testing.T) {
	t.Parallel()
	base := site(t)
	for _, accept := range []bool{true, false} {
		t.Run(fmt.Sprint(accept), func(t *testing.T) {
			t.Parallel()
			ctx := browser.Tab(t)
			dialogs := browser.AnswerDialogs(t, ctx, accept)
			browser.Open(t, ctx, base+"/ask", "#ask")
			browser.Click(t, ctx, "#ask")
			browser.WaitUntil(t, ctx, "the answer", `document.getElementById('answer').textContent !== 'none'`)
			if got, want := browser.Text(t, ctx, "#answer"), fmt.Sprint(accept); got != want {
				t.Errorf("confirm() returned %s, want %s", got, want)
			}
			if got := dialogs.Messages(); len(got) != 1 || got[0] != "Really?" {
				t.Errorf("dialogs = %q, want the one confirm", got)
			}
		})
	}
}

func TestEvalAndWaitUntil(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	browser.Open(t, ctx, base+"/later", "#late")
	// The script changes the text 300 ms after the load: waited for.
	browser.WaitUntil(t, ctx, "the late text", `document.getElementById('late').textContent === 'now'`)
	if got := browser.Eval[int](t, ctx, `document.querySelectorAll('p').length + 1`); got != 2 {
		t.Errorf("Eval = %d, want 2", got)
	}
	type size struct{ W, H int }
	if got := browser.Eval[size](t, ctx, `({W: 3, H: 4})`); got != (size{3, 4}) {
		t.Errorf("Eval of an object = %+v, want {3 4}", got)
	}
	got := innerTest(t, func(tb testing.TB) { browser.Eval[int](tb, ctx, `no.such.thing`) })
	if !strings.Contains(got, "no is not defined") {
		t.Errorf("Eval of a throwing expression: failure = %q, want the exception", got)
	}
}

func TestKeyboardFillsAndSubmitsAForm(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	browser.Open(t, ctx, base+"/form", "form")
	browser.Focus(t, ctx, "#name")
	browser.Press(t, ctx, "Wang Fang ’")
	// Typing keeps the focus where it was.
	if got := browser.Eval[string](t, ctx, `document.activeElement.id`); got != "name" {
		t.Fatalf("focus on %q, want name", got)
	}
	browser.Focus(t, ctx, "#note")
	browser.Press(t, ctx, "typed")
	browser.Press(t, ctx, "\t") // to the button
	if got := browser.Eval[string](t, ctx, `document.activeElement.id`); got != "send" {
		t.Fatalf("after Tab the focus is on %q, want the send button", got)
	}
	if got := browser.PressToSubmit(t, ctx, "\r"); got != http.StatusOK {
		t.Errorf("status after Enter = %d, want 200", got)
	}
	if got, want := browser.Text(t, ctx, "#got"), `["Wang Fang ’" "" "sms" "typed"]`; got != want {
		t.Errorf("submitted = %q, want %q", got, want)
	}
}

func TestSetTimezone(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)
	for _, zone := range []string{"Asia/Shanghai", "America/Chicago"} {
		browser.SetTimezone(t, ctx, zone)
		browser.Open(t, ctx, base+"/zone", "#zone")
		browser.WaitUntil(t, ctx, "the script's answer", `document.getElementById('zone').textContent !== 'unknown'`)
		if got := browser.Text(t, ctx, "#zone"); got != zone {
			t.Errorf("the page's zone = %q, want %q", got, zone)
		}
	}
}

func TestLanguageAndAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)

	browser.SetLanguage(t, ctx, "zh-CN")
	browser.SetAuthorization(t, ctx, "Bearer t-1")
	browser.Open(t, ctx, base+"/echo", "#lang")
	if got := browser.Text(t, ctx, "#lang"); got != "zh-CN" {
		t.Errorf("Accept-Language = %q, want zh-CN", got)
	}
	if got := browser.Text(t, ctx, "#auth"); got != "Bearer t-1" {
		t.Errorf("Authorization = %q, want Bearer t-1", got)
	}

	browser.SetLanguage(t, ctx, "en")
	browser.SetAuthorization(t, ctx, "")
	browser.Open(t, ctx, base+"/echo", "#lang")
	if got := browser.Text(t, ctx, "#lang"); got != "en" {
		t.Errorf("Accept-Language = %q, want en", got)
	}
	if got := browser.Text(t, ctx, "#auth"); got != "" {
		t.Errorf("Authorization = %q after removing it, want none", got)
	}
}

func TestCookiesAreReadSetAndKeptToTheirTab(t *testing.T) {
	t.Parallel()
	base := site(t)
	ctx := browser.Tab(t)

	browser.Open(t, ctx, base+"/login", "#in")
	var session *http.Cookie
	for _, c := range browser.Cookies(t, ctx) {
		if c.Name == "session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie after /login")
	}
	if session.Value != "s-1" || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie = %+v, want s-1, HttpOnly, SameSite=Strict", session)
	}

	browser.SetCookie(t, ctx, base+"/", &http.Cookie{Name: "lang", Value: "zh-CN"})
	browser.Open(t, ctx, base+"/echo", "#cookie")
	if got := browser.Text(t, ctx, "#cookie"); !strings.Contains(got, "session=s-1") || !strings.Contains(got, "lang=zh-CN") {
		t.Errorf("Cookie header = %q, want session=s-1 and lang=zh-CN", got)
	}

	// Another test's tab has a browser context of its own: no cookies.
	other := browser.Tab(t)
	browser.Open(t, other, base+"/echo", "#cookie")
	if got := browser.Text(t, other, "#cookie"); got != "" {
		t.Errorf("a new tab sent Cookie %q, want none", got)
	}
}

// innerTest runs body as a test of its own, on its own goroutine as the
// testing package does, with its cleanups at its end, and returns the
// failures it reported. The package's helpers take the inner test, so a
// test can check what they would report without failing itself. A skip of
// the inner test skips t.
func innerTest(t *testing.T, body func(tb testing.TB)) string {
	t.Helper()
	inner := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer inner.runCleanups()
		body(inner)
	}()
	<-done
	inner.mu.Lock()
	defer inner.mu.Unlock()
	if inner.skipped != "" {
		t.Skip(inner.skipped)
	}
	return strings.Join(inner.failures, "\n")
}

// recordingTB keeps what an inner test reports. Fatal, FailNow and Skip end
// the inner test's goroutine, as they end a real test's.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	skipped  string
	cleanups []func()
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recordingTB) FailNow()                          { r.Error("FailNow"); runtime.Goexit() }
func (r *recordingTB) Skip(args ...any)                  { r.skip(fmt.Sprint(args...)) }
func (r *recordingTB) Skipf(format string, args ...any)  { r.skip(fmt.Sprintf(format, args...)) }
func (r *recordingTB) SkipNow()                          { r.skip("SkipNow") }

func (r *recordingTB) skip(why string) {
	r.mu.Lock()
	r.skipped = why
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// runCleanups ends the inner test: its cleanups run, last first.
func (r *recordingTB) runCleanups() {
	r.mu.Lock()
	cleanups := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}
