package browsertest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/testkit/browser"
)

// TestSignInRefusesAnUnknownToken: the sign-in form says so, beside it,
// and the console stays closed.
func TestSignInRefusesAnUnknownToken(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	ctx := browser.Tab(t)
	browser.ExpectConsoleError(t, ctx, "the server responded with a status of 401 (Unauthorized) ["+in.base+"/console/signin]")
	browser.Open(t, ctx, in.base+"/console/", "#token")
	browser.Fill(t, ctx, "#token", "t-guess")
	if status := browser.Submit(t, ctx, "#signin-submit"); status != http.StatusUnauthorized {
		t.Errorf("sign-in with an unknown token: status %d, want 401", status)
	}
	if got := browser.Text(t, ctx, "#signin-error"); got != "That token is not known." {
		t.Errorf("sign-in error = %q", got)
	}
	if status := browser.Open(t, ctx, in.base+"/console/templates", "#token"); status != http.StatusOK || !strings.Contains(browser.URL(t, ctx), "/console/signin") {
		t.Errorf("after a refused sign-in the templates page is at %s (status %d), want the sign-in page", browser.URL(t, ctx), status)
	}
}

// TestPagesAnswerOnlyTheirRoles: a support token's menu has no templates,
// and the templates page answers it with the 403 page naming the role it
// needs; an ops token gets the same on the support pages.
func TestPagesAnswerOnlyTheirRoles(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	in.load(t, liLei(in.today()))
	for _, tc := range []struct {
		token, path, role string
		menu              []string
	}{
		{supportToken, "/console/templates", "ops", []string{"/console/", "/console/search"}},
		{opsToken, "/console/borrowers/b-li", "support", []string{"/console/", "/console/templates", "/console/policies"}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			t.Parallel()
			ctx := in.signIn(t, tc.token)
			menu := browser.Eval[[]string](t, ctx, `[...document.querySelectorAll('header nav a')].map(function (a) { return a.getAttribute('href'); })`)
			if strings.Join(menu, " ") != strings.Join(tc.menu, " ") {
				t.Errorf("menu %q, want %q", menu, tc.menu)
			}
			browser.ExpectConsoleError(t, ctx, "the server responded with a status of 403 (Forbidden) ["+in.base+tc.path+"]")
			if status := browser.Open(t, ctx, in.base+tc.path, "#error"); status != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", tc.path, status)
			}
			if got := browser.Text(t, ctx, "h1"); got != "Not allowed" {
				t.Errorf("%s: heading %q, want the 403 page's", tc.path, got)
			}
			if got := browser.Text(t, ctx, "#error-message"); !strings.Contains(got, tc.role) {
				t.Errorf("%s: message %q does not name the role %s", tc.path, got, tc.role)
			}
		})
	}
}

// TestFormPostWithoutCSRFIsRefused: a post with the browser's own session
// cookie but without the form's CSRF token (as a page of another site
// would make it) is refused with 403 and changes nothing; the same post
// with the token, to show the cookie itself is good, makes the mute.
func TestFormPostWithoutCSRFIsRefused(t *testing.T) {
	t.Parallel()
	in := start(t, options{})
	in.load(t, liLei(in.today()))
	ctx := in.signIn(t, supportToken)
	browser.Open(t, ctx, in.base+"/console/borrowers/b-li", "#mute-form")
	var session *http.Cookie
	for _, c := range browser.Cookies(t, ctx) {
		if c.Name == "forbear_console" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v, want one, HttpOnly and SameSite=Strict", session)
	}
	csrf := browser.Eval[string](t, ctx, `document.querySelector('#mute-form input[name=csrf]').value`)

	post := func(form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, in.base+"/console/borrowers/b-li/mutes", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	mute := url.Values{"channels": {"sms"}, "until": {"7d"}, "reason": {"forged"}}
	for name, token := range map[string]string{"none": "", "another session's": "AAAA.BBBB"} {
		form := url.Values{}
		for k, v := range mute {
			form[k] = v
		}
		if token != "" {
			form.Set("csrf", token)
		}
		if status, body := post(form); status != http.StatusForbidden || !strings.Contains(body, "did not come from this console") {
			t.Errorf("post with CSRF token %s: status %d, want 403 with the CSRF page", name, status)
		}
	}
	if m := in.mutes(t, "b-li"); len(m) != 0 {
		t.Fatalf("a post without the CSRF token made mutes %+v", m)
	}

	mute.Set("csrf", csrf)
	if status, _ := post(mute); status != http.StatusSeeOther {
		t.Errorf("the same post with the page's CSRF token: status %d, want 303 (the cookie is good)", status)
	}
	if m := in.mutes(t, "b-li"); len(m) != 1 || m[0].By != "desk" {
		t.Errorf("after the post with the token the API lists %+v, want desk's mute", m)
	}
}
