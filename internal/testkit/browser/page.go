package browser

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ActionTimeout bounds each helper: an element that never appears fails the
// test after it rather than at the end of TabTimeout.
const ActionTimeout = 30 * time.Second

// run runs one helper's action under ActionTimeout and fails t on an error.
func run[T any](t testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, action)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Open navigates the tab to url, waits for the page to load and for an
// element matching the CSS selector waitFor (required: a selector the page
// is known by, such as "main" or "#login"), and returns the HTTP status of
// the document.
func Open(t testing.TB, ctx context.Context, url, waitFor string) int {
	t.Helper()
	resp := run(t, ctx, "opening "+url, chromedp.NavigateResponse(url))
	run(t, ctx, "waiting for "+waitFor+" on "+url, chromedp.WaitReady(chromedp.CSS(waitFor)))
	return status(resp)
}

// Text returns the visible text of the first element matching the CSS
// selector, trimmed, waiting for the element to exist.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// Fill sets the value of the form field matching the CSS selector (an input
// of any type, a textarea or a select) as a user's edit would, firing the
// input and change events. It fails the test when the field does not take
// the value, such as a select with no option of that value.
func Fill(t testing.TB, ctx context.Context, sel, value string) {
	t.Helper()
	arg, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("browser: filling %s: %v", sel, err)
	}
	run(t, ctx, "filling "+sel, chromedp.QueryAfter(chromedp.CSS(sel),
		func(ctx context.Context, tg *chromedp.Target, nodes []*chromedp.Node) (chromedp.Void, error) {
			node, err := cdp.Call(ctx, tg, dom.ResolveNode, dom.ResolveNodeParams{NodeID: nodes[0].NodeID})
			if err != nil {
				return chromedp.Void{}, err
			}
			res, err := cdp.Call(ctx, tg, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
				FunctionDeclaration: fillJS,
				ObjectID:            node.Object.ObjectID,
				Arguments:           []*runtime.CallArgument{{Value: arg}},
			})
			if err != nil {
				return chromedp.Void{}, err
			}
			if res.ExceptionDetails != nil {
				return chromedp.Void{}, errors.New(exceptionText(res.ExceptionDetails))
			}
			return chromedp.Void{}, nil
		}))
}

// fillJS runs on the field with the value as its argument. An exception here
// is the result of the call, not an uncaught exception of the page.
const fillJS = `function(value) {
	if (!('value' in this)) throw new Error(this.tagName + ' is not a form field');
	this.value = value;
	if (this.value !== value) throw new Error(this.tagName + ' did not take the value ' + JSON.stringify(value));
	this.dispatchEvent(new Event('input', {bubbles: true}));
	this.dispatchEvent(new Event('change', {bubbles: true}));
}`

// Click clicks the first element matching the CSS selector, waiting for it
// to be visible, and does not wait for anything after. Use Submit for a
// click that leads to another page.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	run(t, ctx, "clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Submit clicks the first element matching the CSS selector (a submit
// button or a link), waits for the page it leads to to load, and returns the
// HTTP status of that page. After a redirect it is the status of the page
// the redirect ends on.
func Submit(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, chromedp.Click(chromedp.CSS(sel)))
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("browser: submitting with %s: no page loaded within %s (no such visible element, or the browser's form validation stopped the submit)", sel, ActionTimeout)
	}
	if err != nil {
		t.Fatalf("browser: submitting with %s: %v", sel, err)
	}
	return status(resp)
}

// URL returns the address of the page the tab shows.
func URL(t testing.TB, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "reading the location", chromedp.Location())
}

// SetLanguage makes every later request of the tab carry Accept-Language:
// lang (such as "en" or "zh-CN"); "" goes back to the browser's own. Only
// the header changes: navigator.language in the page stays the browser's.
func SetLanguage(t testing.TB, ctx context.Context, lang string) {
	t.Helper()
	setHeader(t, ctx, "Accept-Language", lang)
}

// SetAuthorization makes every later request of the tab carry
// Authorization: value (such as "Bearer <token>"); "" sends none.
func SetAuthorization(t testing.TB, ctx context.Context, value string) {
	t.Helper()
	setHeader(t, ctx, "Authorization", value)
}

// SetTimezone makes the tab's pages see zone (an IANA name such as
// "Asia/Shanghai") as the browser's time zone, in Date and Intl, from the
// next script run on; "" goes back to the machine's zone.
func SetTimezone(t testing.TB, ctx context.Context, zone string) {
	t.Helper()
	run(t, ctx, "setting the time zone "+zone, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	}))
}

// setHeader records one extra header of the tab and sends the whole set:
// the browser replaces its extra headers at each call.
func setHeader(t testing.TB, ctx context.Context, name, value string) {
	t.Helper()
	state := tabOf(t, ctx)
	state.mu.Lock()
	if value == "" {
		delete(state.headers, name)
	} else {
		state.headers[name] = value
	}
	headers := make(network.Headers, len(state.headers))
	for k, v := range state.headers {
		headers[k] = v
	}
	state.mu.Unlock()
	run(t, ctx, "setting "+name, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: headers})
		return err
	}))
}

// SetCookie stores c in the tab's browser context as if pageURL had set it;
// Domain and Path default from pageURL. Expires, HttpOnly, Secure and
// SameSite are kept.
func SetCookie(t testing.TB, ctx context.Context, pageURL string, c *http.Cookie) {
	t.Helper()
	params := network.SetCookieParams{
		Name:     c.Name,
		Value:    c.Value,
		URL:      pageURL,
		Domain:   c.Domain,
		Path:     c.Path,
		HTTPOnly: &c.HttpOnly,
		Secure:   &c.Secure,
		SameSite: sameSiteToCDP[c.SameSite],
	}
	if !c.Expires.IsZero() {
		params.Expires = cdp.TimeSinceEpoch(float64(c.Expires.UnixMilli()) / 1000)
	}
	run(t, ctx, "setting cookie "+c.Name, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, params)
		return err
	}))
}

// Cookies returns the cookies the tab would send to the page it shows, with
// their attributes (HttpOnly, Secure, SameSite, Expires for a persistent
// cookie).
func Cookies(t testing.TB, ctx context.Context) []*http.Cookie {
	t.Helper()
	res := run(t, ctx, "reading cookies", chromedp.Action[network.GetCookiesResult](
		func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
			return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		}))
	out := make([]*http.Cookie, 0, len(res.Cookies))
	for _, c := range res.Cookies {
		hc := &http.Cookie{
			Name:     c.Name,
			Value:    c.Value,
			Domain:   c.Domain,
			Path:     c.Path,
			HttpOnly: c.HTTPOnly,
			Secure:   c.Secure,
			SameSite: sameSiteFromCDP[c.SameSite],
		}
		if !c.Session && c.Expires > 0 && !math.IsInf(c.Expires, 0) {
			sec, frac := math.Modf(c.Expires)
			hc.Expires = time.Unix(int64(sec), int64(frac*1e9))
		}
		out = append(out, hc)
	}
	return out
}

var sameSiteToCDP = map[http.SameSite]network.CookieSameSite{
	http.SameSiteStrictMode: network.CookieSameSiteStrict,
	http.SameSiteLaxMode:    network.CookieSameSiteLax,
	http.SameSiteNoneMode:   network.CookieSameSiteNone,
}

var sameSiteFromCDP = map[network.CookieSameSite]http.SameSite{
	network.CookieSameSiteStrict: http.SameSiteStrictMode,
	network.CookieSameSiteLax:    http.SameSiteLaxMode,
	network.CookieSameSiteNone:   http.SameSiteNoneMode,
}

// status is the HTTP status of a navigation's document, 0 when the browser
// reported no response (such as a page served from its cache).
func status(resp *network.Response) int {
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}
