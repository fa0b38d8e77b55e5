package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/console"
	"github.com/forbear/forbear/internal/signing"
)

// site is a console behind a test server, and a browser-like client with a
// cookie jar that does not follow redirects (the tests look at them).
type site struct {
	srv    *httptest.Server
	client *http.Client
}

var tokens = []config.Token{
	{Name: "desk", Token: "t-desk", Roles: []string{auth.RoleSupport}},
	{Name: "ops", Token: "t-ops", Roles: []string{auth.RoleOps}},
}

func newSite(t *testing.T, tokens []config.Token) *site {
	t.Helper()
	c, err := console.New(console.Options{Auth: auth.New(tokens, nil), Signer: signing.New([]byte("secret"))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &site{srv: srv, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (s *site) get(t testing.TB, path string, header ...string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(t, req)
}

func (s *site) post(t testing.TB, path string, form url.Values) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(t, req)
}

func (s *site) do(t testing.TB, req *http.Request) page {
	t.Helper()
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of a page's first form.
func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs in with token and returns the dashboard.
func (s *site) signIn(t testing.TB, token string) page {
	t.Helper()
	form := s.get(t, "/console/signin")
	res := s.post(t, "/console/signin", url.Values{"csrf": {form.csrf(t)}, "token": {token}, "next": {"/console/"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/" {
		t.Fatalf("sign-in: %d to %q", res.status, res.header.Get("Location"))
	}
	return s.get(t, "/console/")
}

func TestSignInSessionAndSignOut(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	if res := s.get(t, "/console/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/console/signin") {
		t.Fatalf("dashboard before sign-in: %d to %q, want the sign-in page", res.status, res.header.Get("Location"))
	}
	form := s.get(t, "/console/signin")
	if res := s.post(t, "/console/signin", url.Values{"csrf": {form.csrf(t)}, "token": {"wrong"}}); res.status != http.StatusUnauthorized ||
		!strings.Contains(res.body, "That token is not known.") {
		t.Fatalf("unknown token: %d", res.status)
	}
	dash := s.signIn(t, "t-desk")
	if dash.status != http.StatusOK || !strings.Contains(dash.body, "Signed in as desk") {
		t.Fatalf("dashboard after sign-in: %d\n%s", dash.status, dash.body)
	}
	cookie := s.client.Jar.Cookies(mustURL(t, s.srv.URL+"/console/"))
	if len(cookie) == 0 || strings.Contains(cookie[0].Value, "t-desk") {
		t.Fatalf("session cookie %v must exist and must not hold the token", cookie)
	}
	if res := s.post(t, "/console/signout", url.Values{"csrf": {dash.csrf(t)}}); res.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.status)
	}
	if res := s.get(t, "/console/"); res.status != http.StatusSeeOther {
		t.Fatalf("dashboard after sign-out: %d, want the sign-in page", res.status)
	}
}

func TestSessionCookieIsHttpOnlyStrict(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	res := s.get(t, "/console/signin")
	set := res.header.Get("Set-Cookie")
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") || !strings.Contains(set, "Path=/console/") {
		t.Errorf("session cookie %q, want HttpOnly, SameSite=Strict, Path=/console/", set)
	}
}

func TestPostWithoutCSRFIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	s.signIn(t, "t-desk")
	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		res := s.post(t, "/console/signout", form)
		if res.status != http.StatusForbidden || !strings.Contains(res.body, "did not come from this console") {
			t.Errorf("sign-out with csrf %q: %d, want 403 naming the form", form.Get("csrf"), res.status)
		}
	}
	if res := s.get(t, "/console/"); res.status != http.StatusOK {
		t.Errorf("still signed in after the refused posts: %d", res.status)
	}
}

func TestRemovedTokenEndsItsSessions(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	s.signIn(t, "t-desk")
	// The same secret, a configuration without desk's token: another
	// instance after a config change.
	other, err := console.New(console.Options{Auth: auth.New(tokens[1:], nil), Signer: signing.New([]byte("secret"))})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/console/", nil)
	for _, c := range s.client.Jar.Cookies(mustURL(t, s.srv.URL+"/console/")) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	other.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("session of a removed token: %d, want the sign-in page", rec.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	res := s.get(t, "/console/signin")
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", res.header.Get("X-Content-Type-Options"))
	}
	if strings.Contains(res.body, "<script>") || strings.Contains(res.body, " onclick=") {
		t.Errorf("inline script in the page:\n%s", res.body)
	}
}

func TestValuesAreEscapedAndRedirectsStayHome(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	res := s.get(t, "/console/signin?next="+url.QueryEscape(`/console/"><script>alert(1)</script>`))
	if strings.Contains(res.body, "<script>alert(1)") {
		t.Fatalf("next was not escaped:\n%s", res.body)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/console/\\evil"} {
		form := s.get(t, "/console/signin")
		res := s.post(t, "/console/signin", url.Values{"csrf": {form.csrf(t)}, "token": {"t-desk"}, "next": {next}})
		if loc := res.header.Get("Location"); loc != "/console/" {
			t.Errorf("next %q redirected to %q, want /console/", next, loc)
		}
	}
}

func TestOpenModeNeedsNoSignInButRefusesForeignHosts(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	res := s.get(t, "/console/")
	if res.status != http.StatusOK || !strings.Contains(res.body, "Open mode") {
		t.Fatalf("open mode dashboard: %d", res.status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/console/", nil)
	req.Host = "evil.example"
	if res := s.do(t, req); res.status != http.StatusForbidden {
		t.Errorf("open mode with Host evil.example: %d, want 403", res.status)
	}
}

func TestLanguageFromAcceptLanguageAndTheSwitch(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	if res := s.get(t, "/console/", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"); !strings.Contains(res.body, "概览") || !strings.Contains(res.body, `lang="zh-CN"`) {
		t.Errorf("Accept-Language zh-CN: page not in Chinese")
	}
	if res := s.get(t, "/console/", "Accept-Language", "fr-FR,en;q=0.5"); !strings.Contains(res.body, "Dashboard") {
		t.Errorf("Accept-Language fr, en: page not in English")
	}
	page := s.get(t, "/console/", "Accept-Language", "en")
	if res := s.post(t, "/console/lang", url.Values{"csrf": {page.csrf(t)}, "lang": {"zh-CN"}, "back": {"/console/"}}); res.status != http.StatusSeeOther {
		t.Fatalf("switch: %d", res.status)
	}
	if res := s.get(t, "/console/", "Accept-Language", "en"); !strings.Contains(res.body, "概览") {
		t.Errorf("after switching to Chinese, the page is not in Chinese")
	}
}

func TestUnknownPageIs404Page(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	res := s.get(t, "/console/no-such-page")
	if res.status != http.StatusNotFound || !strings.Contains(res.body, "There is no such page.") {
		t.Errorf("unknown page: %d", res.status)
	}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMenuMarksTheCurrentPart(t *testing.T) {
	t.Parallel()
	s := newSite(t, nil)
	res := s.get(t, "/console/borrowers/b-1")
	if !strings.Contains(res.body, `<a href="/console/search" aria-current="page">`) {
		t.Errorf("a borrower page does not mark Borrowers as the current part of the menu")
	}
}
