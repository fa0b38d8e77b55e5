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

// TestTimelineMessagesHaveRoomToBeRead: on a laptop's screen, in both
// languages, the delivery timeline fits its box and gives each message
// text and reason a column wide enough to read (a line of some forty
// characters), however long the provider reference beside it (an email's
// Message-ID is one unbroken word of 60 characters).
func TestTimelineMessagesHaveRoomToBeRead(t *testing.T) {
	t.Parallel()
	in := start(t, busyOptions(time.Now().UTC().Truncate(time.Hour)))
	in.populate(t, 2)
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := browser.Tab(t)
			browser.SetLanguage(t, ctx, lang)
			signInTab(t, ctx, in.base, supportToken)
			browser.SetViewport(t, ctx, browser.DesktopWidth)
			for _, id := range []string{"b-li", "b-han"} {
				browser.Open(t, ctx, in.base+"/console/borrowers/"+id, "#deliveries")
				if n := browser.Eval[int](t, ctx, `document.querySelectorAll('[data-testid=delivery-provider-ref]').length`); n == 0 {
					t.Fatalf("%s: no provider reference in the timeline", id)
				}
				if w := browser.Eval[[]int](t, ctx, `(function () {
					var box = document.querySelector('#deliveries .table-wrap');
					return [box.querySelector('table').scrollWidth, box.clientWidth];
				})()`); w[0] > w[1] {
					t.Errorf("%s: the timeline is %d px wide in a %d px box: it scrolls sideways", id, w[0], w[1])
				}
				for _, col := range []struct {
					testid string
					min    int
				}{{"delivery-text", 300}, {"delivery-reason", 160}} {
					narrowest := browser.Eval[int](t, ctx, `Math.floor(Math.min(...[...document.querySelectorAll('[data-testid=`+col.testid+`]')].map(function (e) { return e.getBoundingClientRect().width; })))`)
					if narrowest < col.min {
						t.Errorf("%s: the narrowest %s cell is %d px wide, want at least %d", id, col.testid, narrowest, col.min)
					}
				}
			}
		})
	}
}

// brokenWords lists the elements matching the selector whose text takes
// more than one line: a button, a link of the menu, a status, a date or a
// clock that wraps (Chinese text may break between any two characters, a
// date at its dashes) is read badly.
const brokenWords = `(function (sel) {
	var out = [];
	document.querySelectorAll(sel).forEach(function (e) {
		var r = document.createRange(), lines = {};
		r.selectNodeContents(e);
		[...r.getClientRects()].forEach(function (q) { if (q.width > 0) lines[Math.round(q.top)] = true; });
		if (Object.keys(lines).length > 1) out.push((e.id ? '#' + e.id : e.tagName.toLowerCase()) + ' "' + e.textContent.trim() + '"');
	});
	return out;
})('header a, header button, header label, .when-part, #deliveries td[class^="status-"]')`

// TestShortWordsStayOnOneLine: in both languages, on a phone and on a
// laptop, the header's links, buttons and labels, the timeline's statuses
// and the dates and clocks of both tables each keep to one line.
func TestShortWordsStayOnOneLine(t *testing.T) {
	t.Parallel()
	in := start(t, busyOptions(time.Now().UTC().Truncate(time.Hour)))
	in.populate(t, 2)
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := browser.Tab(t)
			browser.SetLanguage(t, ctx, lang)
			signInTab(t, ctx, in.base, supportToken)
			for _, width := range []int{browser.MobileWidth, browser.DesktopWidth} {
				browser.SetViewport(t, ctx, width)
				browser.Open(t, ctx, in.base+"/console/borrowers/b-han", "#deliveries")
				if out := browser.Eval[[]string](t, ctx, brokenWords); len(out) > 0 {
					t.Errorf("at %d px these break across lines: %s", width, strings.Join(out, ", "))
				}
			}
		})
	}
}

// spillingOut lists what sticks out of the right edge of the boxes matching
// the selector (at most 8 elements).
const spillingOut = `(function (sel) {
	var out = [];
	document.querySelectorAll(sel).forEach(function (box) {
		var edge = box.getBoundingClientRect().right;
		box.querySelectorAll('*').forEach(function (e) {
			var r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > edge + 1 && out.length < 8) {
				out.push((box.id || box.className) + ': ' + e.tagName.toLowerCase() + ' "' + e.textContent.trim().slice(0, 30) + '" to ' + Math.round(r.right) + ' px, the box ends at ' + Math.round(edge));
			}
		});
	});
	return out;
})('.preview')`

// TestEditorPreviewsStayInTheirBoxes: the previews of the bundled
// overdue template, Chinese SMS included (every character of it forces
// UCS-2, a long list), stay inside their boxes on a phone and on a laptop,
// as the page comes and once the live preview has redrawn them.
func TestEditorPreviewsStayInTheirBoxes(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	ctx := in.signIn(t, opsToken)
	for _, width := range []int{browser.MobileWidth, browser.DesktopWidth} {
		browser.SetViewport(t, ctx, width)
		browser.Open(t, ctx, in.base+"/console/templates/overdue", "#pv-sms-zh-CN")
		if n := browser.Eval[int](t, ctx, `document.querySelectorAll('#pv-sms-zh-CN-forcing .forced').length`); n < 5 {
			t.Fatalf("the Chinese SMS lists %d characters forcing UCS-2, want many", n)
		}
		if out := browser.Eval[[]string](t, ctx, spillingOut); len(out) > 0 {
			t.Errorf("at %d px, as served: %s", width, strings.Join(out, "; "))
		}
		// A ’ in the English SMS: the live preview redraws every box.
		browser.Fill(t, ctx, smsBody, smsDraft)
		typeAtEnd(t, ctx, smsBody, "’")
		browser.WaitUntil(t, ctx, "the live preview", textIs(smsEncoding, "UCS-2"))
		if out := browser.Eval[[]string](t, ctx, spillingOut); len(out) > 0 {
			t.Errorf("at %d px, redrawn as one types: %s", width, strings.Join(out, "; "))
		}
	}
}
