// Package browsertest proves the web console in a real browser: its tests
// start a whole forbear instance (internal/roof/app on an embedded NATS, the
// fake Twilio API and the in-process SMTP server as its providers, staff
// tokens for every role) and drive the console's pages in headless
// Chromium through internal/testkit/browser, as support and ops staff would
// use them: signing in, finding a borrower by phone number, muting and
// unmuting (and checking through the API and the providers that the mute
// holds), editing a template with its live preview, diff and rollback, the
// dashboard against GET /v1/stats, the refusals (a role without the page,
// a form post without its CSRF token), phone-width layout, labels and the
// keyboard. Any console error on any page fails the test that opened it.
//
// The package holds only tests. One Chromium serves all of them (TestMain
// calls browser.Main); each test runs an instance of its own, so tests run
// in parallel and share no state. TestScreenshots, run with
// FORBEAR_SCREENSHOTS=1, makes the README's pictures of the console:
//
//	FORBEAR_SCREENSHOTS=1 go test -count=1 -run TestScreenshots ./internal/console/browsertest/
package browsertest
