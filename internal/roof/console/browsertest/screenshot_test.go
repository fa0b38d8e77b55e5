package browsertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/testkit/browser"
)

// screenshotRounds is how long the pictured console has been in use: six
// days of rounds, so that the week's charts have bars.
const screenshotRounds = 24

// TestScreenshots makes the README's pictures of the console, in English
// and in Simplified Chinese, of a console in use: the dashboard, the top of
// a borrower's page (also at a phone's width) and the template editor with
// a ’ just typed into an SMS. It runs only with FORBEAR_SCREENSHOTS=1,
// which makes browser.Screenshot write to docs/screenshots/; the Chinese
// pictures need a CJK font on the machine (Debian: fonts-noto-cjk).
func TestScreenshots(t *testing.T) {
	if os.Getenv(browser.EnvScreenshots) != "1" {
		t.Skip("FORBEAR_SCREENSHOTS=1 makes the README's pictures of the console")
	}
	t.Parallel()
	// The last round is swept at the current hour.
	in := start(t, busyOptions(time.Now().UTC().Truncate(time.Hour).Add(-(screenshotRounds-1)*round)))
	in.populate(t, screenshotRounds)

	for _, tc := range []struct {
		lang, suffix, borrower string
	}{
		{"en", "en", "b-li"},
		{"zh-CN", "zh", "b-han"},
	} {
		t.Run(tc.suffix, func(t *testing.T) {
			t.Parallel()
			ctx := browser.Tab(t)
			browser.SetTimezone(t, ctx, "Asia/Shanghai")
			browser.SetLanguage(t, ctx, tc.lang)
			browser.SetViewport(t, ctx, browser.DesktopWidth)
			signInTab(t, ctx, in.base, adminToken)

			browser.Open(t, ctx, in.base+"/console/", "#summary")
			browser.Screenshot(t, ctx, "dashboard-"+tc.suffix, browser.DesktopWidth)

			// The borrower page down to the first records of its timeline.
			browser.Open(t, ctx, in.base+"/console/borrowers/"+tc.borrower, "#deliveries")
			browser.ScreenshotTop(t, ctx, "borrower-"+tc.suffix, browser.DesktopWidth, 2600)
			browser.ScreenshotTop(t, ctx, "borrower-"+tc.suffix+"-mobile", browser.MobileWidth, 2400)

			browser.SetViewport(t, ctx, browser.DesktopWidth)
			browser.Open(t, ctx, in.base+"/console/templates/overdue", "#template-form")
			browser.Fill(t, ctx, smsBody, smsDraft)
			browser.WaitUntil(t, ctx, "the preview of the draft", textIs(smsSegments, "1"))
			typeAtEnd(t, ctx, smsBody, "’")
			browser.WaitUntil(t, ctx, "the preview after the ’", textIs(smsEncoding, "UCS-2"))
			browser.Screenshot(t, ctx, "editor-"+tc.suffix, browser.DesktopWidth)
		})
	}
}

// typeAtEnd types keys at the end of a text field, as a person who clicked
// after its last character would.
func typeAtEnd(t *testing.T, ctx context.Context, sel, keys string) {
	t.Helper()
	browser.Focus(t, ctx, sel)
	browser.Eval[bool](t, ctx, `(function () { var f = document.querySelector('`+sel+`'); f.selectionStart = f.selectionEnd = f.value.length; return true; })()`)
	browser.Press(t, ctx, keys)
}
