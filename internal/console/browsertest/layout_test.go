package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/testkit/browser"
)

// overflowing lists what sticks out to the right of the window (at most 8
// elements, outside any box that scrolls or clips them), or nothing when
// the page does not scroll sideways.
const overflowing = `(function () {
	var w = document.documentElement.clientWidth, out = [];
	if (document.documentElement.scrollWidth <= w) return out;
	document.querySelectorAll('body *').forEach(function (e) {
		var r = e.getBoundingClientRect();
		if (r.width === 0 || r.right <= w + 0.5) return;
		for (var p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			if (/auto|scroll|hidden|clip/.test(getComputedStyle(p).overflowX)) return;
		}
		out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
			(typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
			' (to ' + Math.round(r.right) + ' px)');
	});
	out = out.slice(0, 8);
	out.push('page ' + document.documentElement.scrollWidth + ' px wide in a ' + w + ' px window');
	return out;
})()`

// unlabelled lists the form fields no label names: an input (but a hidden
// one), select or textarea needs a <label> or aria-label(ledby).
const unlabelled = `[...document.querySelectorAll('input, select, textarea')].filter(function (e) {
	return e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby');
}).map(function (e) { return e.id || e.name || e.outerHTML.slice(0, 80); })`

// consolePage is one page of the console to check, what it is known by
// and the status it answers with.
type consolePage struct {
	path, waitFor string
	status        int
}

// TestPagesFitAPhoneAndLabelEveryField opens every page of the console,
// with a console in use behind it, at 375 px (a small phone) and at
// 1280 px: no page scrolls sideways, and every form field has a label.
func TestPagesFitAPhoneAndLabelEveryField(t *testing.T) {
	t.Parallel()
	in := start(t, busyOptions(time.Now().UTC().Truncate(time.Hour)))
	p := in.populate(t, 3)

	// The sign-in page, before signing in.
	ctx := browser.Tab(t)
	checkLayout(t, ctx, in.base, consolePage{"/console/signin", "#signin-form", http.StatusOK})
	signInTab(t, ctx, in.base, adminToken)
	// A second version, so that the diff has something to show.
	browser.Open(t, ctx, in.base+"/console/templates/overdue", "#template-form")
	browser.Fill(t, ctx, smsBody, smsSaved)
	if status := browser.Submit(t, ctx, "#save"); status != http.StatusOK {
		t.Fatalf("save: status %d", status)
	}
	for _, pg := range []consolePage{
		{"/console/", "#summary", http.StatusOK},
		{"/console/search", "#search-form", http.StatusOK},
		{"/console/search?q=%2B86+138+0000+0001", "#search-results", http.StatusOK},
		{"/console/search?q=", "#search-error", http.StatusBadRequest},
		{"/console/borrowers/b-li", "#mute-form", http.StatusOK},
		{"/console/borrowers/b-han", "#agreements", http.StatusOK},
		{"/console/borrowers/" + p.borrowerID + "/mutes/" + p.muteID + "/unmute", "#unmute-form", http.StatusOK},
		{"/console/borrowers/b-zhang/inbox", "#inbox", http.StatusOK},
		{"/console/templates", "#templates-table", http.StatusOK},
		{"/console/templates/overdue", "#template-form", http.StatusOK},
		{"/console/templates/overdue/diff?from=1&to=2", "#diff", http.StatusOK},
		{"/console/policies", "#rules", http.StatusOK},
		{"/console/no-such-page", "#error", http.StatusNotFound},
	} {
		checkLayout(t, ctx, in.base, pg)
	}
}

// checkLayout opens the page at a phone's width and a laptop's and fails
// the test for what scrolls sideways and for fields without a label.
func checkLayout(t *testing.T, ctx context.Context, base string, pg consolePage) {
	t.Helper()
	if pg.status != http.StatusOK {
		browser.ExpectConsoleError(t, ctx, fmt.Sprintf("the server responded with a status of %d (%s) [%s]",
			pg.status, http.StatusText(pg.status), base+pg.path))
	}
	for _, width := range []int{browser.MobileWidth, browser.DesktopWidth} {
		browser.SetViewport(t, ctx, width)
		if status := browser.Open(t, ctx, base+pg.path, pg.waitFor); status != pg.status {
			t.Errorf("%s: status %d, want %d", pg.path, status, pg.status)
		}
		if out := browser.Eval[[]string](t, ctx, overflowing); len(out) > 0 {
			t.Errorf("%s at %d px scrolls sideways: %s", pg.path, width, strings.Join(out, "; "))
		}
	}
	if out := browser.Eval[[]string](t, ctx, unlabelled); len(out) > 0 {
		t.Errorf("%s: fields without a label: %s", pg.path, strings.Join(out, ", "))
	}
}
