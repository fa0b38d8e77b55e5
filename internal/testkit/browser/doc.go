// Package browser drives a real headless Chromium for tests of the pages
// forbear serves (the web console). Nothing here is a mock: the pages run in
// Chromium, with its CSP, cookies, forms and console.
//
// # One browser per test process
//
// The first [Tab] of a test binary starts one Chromium; every later tab of
// the binary, parallel or not, is a new tab of that same browser. A package
// that uses tabs runs its tests through [Main], which closes the browser
// when the tests end:
//
//	func TestMain(m *testing.M) { browser.Main(m) }
//
// # Finding Chromium
//
// FORBEAR_BROWSER names the Chromium binary; when it is set the browser is
// required, and a missing or broken one fails the test. When it is empty the
// package looks for "chromium" on PATH, and a test that asks for a tab skips
// with a message saying how to install it. ./scripts/test installs Chromium
// (the Debian package "chromium") when it is missing and sets
// FORBEAR_BROWSER, so the browser tests always run in CI.
//
// # A tab per test
//
// [Tab] opens a tab in a browser context of its own (its own cookies and
// storage), with a deadline of [TabTimeout], and closes it when the test
// ends. The context it returns is a chromedp context, so any chromedp
// action runs on it; the helpers here ([Open], [Text], [Fill], [Click],
// [Submit], [URL], [Eval], [WaitUntil], [Focus], [Press],
// [PressToSubmit], [AnswerDialogs], [SetLanguage], [SetTimezone],
// [SetAuthorization], [SetCookie], [Cookies], [SetViewport],
// [Screenshot], [ScreenshotTop]) cover what the console tests need, wait at most
// [ActionTimeout] each, and fail the test on an error. Tests with tabs may
// run in parallel; a tab belongs to its test's goroutine.
//
// A page's JavaScript dialog (a confirm() before a form acts) waits for an
// answer, and so does the click that opened it: a test whose pages ask
// answers with [AnswerDialogs] first.
//
// # Console errors fail the test
//
// Every tab records what a developer would see in red in DevTools: calls
// of console.error and failed console.assert, uncaught exceptions and
// unhandled promise rejections, and browser log entries of level error
// (Content-Security-Policy violations, resources that failed to load).
// When the test ends, any such message fails it. A test that means to
// provoke one declares it with [ExpectConsoleError]; the matching messages
// are then allowed, and the test fails if none arrives. One failure is not
// counted: the /favicon.ico Chromium guesses for a page that declares no
// icon, which it fetches once per origin for the whole browser, so only the
// first test to visit a server would see it.
//
// # Screenshots for the README
//
// [Screenshot] renders the whole page at a viewport width ([MobileWidth],
// [DesktopWidth]) to a PNG. Normally the file goes to the test's temporary
// directory; with FORBEAR_SCREENSHOTS=1 it goes to docs/screenshots/ in
// the module, so the README's pictures are made by a test:
//
//	FORBEAR_SCREENSHOTS=1 go test -count=1 -run TestScreenshots ./internal/roof/console/browsertest/
//
// Chromium draws text with the machine's fonts: pictures of the Simplified
// Chinese pages need a CJK font (Debian: fonts-noto-cjk), which the tests
// themselves do not.
package browser
