package console_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/console"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/templates"
)

var opsTokens = []config.Token{
	{Name: "ops", Token: "t-ops", Roles: []string{auth.RoleOps}},
	{Name: "desk", Token: "t-desk", Roles: []string{auth.RoleSupport}},
	{Name: "root", Token: "t-admin", Roles: []string{auth.RoleAdmin}},
}

// opsBundle is the API and the console on one real template store, state
// and embedded NATS, behind one test server, as internal/roof/app builds them.
type opsBundle struct {
	srv   *httptest.Server
	store *templates.Store
	state *store.State
	ctx   context.Context
}

// defaultUses is what the default policies send (internal/roof/app derives the
// same map from the configuration).
var defaultUses = map[string][]templates.Use{
	"pre_due":            {{Policy: "standard", Category: templates.CategoryCollection}},
	"overdue":            {{Policy: "standard", Category: templates.CategoryCollection}},
	"call":               {{Policy: "standard", Category: templates.CategoryCollection}},
	"installment_due":    {{Policy: "plan", Category: templates.CategoryAgreement}},
	"installment_missed": {{Policy: "plan", Category: templates.CategoryAgreement}},
}

// newOps starts the bundle with the default configuration changed by
// change (if not nil).
func newOps(t *testing.T, change func(*config.Config)) *opsBundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 60*time.Second)
	state, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	l := logrus.New()
	l.SetOutput(io.Discard)
	log := logrus.NewEntry(l)
	ts, err := templates.Open(ctx, n.JS, log, templates.WithUses(defaultUses))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	cfg := config.Default()
	if change != nil {
		change(&cfg)
	}
	rules, err := compliance.Compile(cfg.Compliance, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	authn := auth.New(opsTokens, nil)
	signer := signing.New([]byte("secret"))
	con, err := console.New(console.Options{Auth: authn, Signer: signer, DefaultZone: time.UTC, Log: log,
		Ops: console.OpsDeps{Templates: ts, Uses: defaultUses, Records: state, Policies: cfg.Policies,
			Compliance: cfg.Compliance, Rules: rules, DryRun: &simulate.Service{Config: cfg, Templates: ts}}})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Auth: authn, Console: con, Templates: ts, State: state, Signer: signer,
		DefaultZone: time.UTC, Log: log})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &opsBundle{srv: srv, store: ts, state: state, ctx: ctx}
}

// browser is a signed-in browser (cookie jar, no redirects followed).
func (b *opsBundle) browser(t *testing.T, token string) *site {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &site{srv: b.srv, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	s.signIn(t, token)
	return s
}

// api calls the HTTP API with a bearer token.
func (b *opsBundle) api(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// put saves a version straight into the store.
func (b *opsBundle) put(t *testing.T, id, def, author, note string) int {
	t.Helper()
	d, err := templates.ParseJSON([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	n, err := b.store.Put(b.ctx, id, d, author, note)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// apiTemplate is GET /v1/templates/{id}.
type apiTemplate struct {
	Live       int                     `json:"live"`
	Versions   []templates.VersionMeta `json:"versions"`
	Definition json.RawMessage         `json:"definition"`
}

func (b *opsBundle) apiTemplate(t *testing.T, id string) (apiTemplate, templates.Definition) {
	t.Helper()
	status, body := b.api(t, http.MethodGet, "/v1/templates/"+id, "t-ops", "")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/templates/%s: %d %s", id, status, body)
	}
	var out apiTemplate
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	def, err := templates.ParseJSON(out.Definition)
	if err != nil {
		t.Fatal(err)
	}
	return out, def
}

// elementByID returns the opening tag and the inner HTML of the element with
// id (empty for a void element such as input).
func elementByID(t *testing.T, body, id string) (open, inner string) {
	t.Helper()
	at := strings.Index(body, ` id="`+id+`"`)
	if at < 0 {
		t.Fatalf("no element with id %q in the page", id)
	}
	start := strings.LastIndex(body[:at], "<")
	end := start + strings.Index(body[start:], ">")
	tag := strings.Fields(body[start+1 : end])[0]
	if tag == "input" || tag == "img" {
		return body[start : end+1], ""
	}
	// Find the closing tag that matches, counting nested ones.
	openRE := regexp.MustCompile(`<` + tag + `[\s>]`)
	depth, pos := 1, end+1
	for depth > 0 {
		closing := strings.Index(body[pos:], "</"+tag+">")
		if closing < 0 {
			t.Fatalf("element %q is not closed", id)
		}
		depth += len(openRE.FindAllStringIndex(body[pos:pos+closing], -1)) - 1
		if depth == 0 {
			return body[start : end+1], body[end+1 : pos+closing]
		}
		pos += closing + len("</"+tag+">")
	}
	return "", ""
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// text is the text of an inner HTML: tags removed, entities decoded.
func text(inner string) string { return html.UnescapeString(tagRE.ReplaceAllString(inner, "")) }

// attr is the value of attribute name in an opening tag.
func attr(open, name string) string {
	m := regexp.MustCompile(`\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(open)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// textarea is the value a browser shows in a textarea: the line break
// after the opening tag is not part of it.
func textarea(t *testing.T, body, id string) string {
	t.Helper()
	_, inner := elementByID(t, body, id)
	return html.UnescapeString(strings.TrimPrefix(inner, "\n"))
}

// editorForm is the editor's form as a browser would post it unchanged.
func editorForm(t *testing.T, p page) url.Values {
	t.Helper()
	form := url.Values{"csrf": {p.csrf(t)}}
	for _, m := range regexp.MustCompile(`<textarea id="([^"]+)" name="([^"]+)"`).FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(m[2]), textarea(t, p.body, m[1]))
	}
	for _, m := range regexp.MustCompile(`<input type="text" id="([^"]+)" name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(m[2]), html.UnescapeString(m[3]))
	}
	_, sel := elementByID(t, p.body, "category")
	if m := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(sel); m != nil {
		form.Set("category", m[1])
	}
	return form
}

const overdueV1 = `{"category":"collection","note":"Sent while overdue.","channels":{
  "sms":{"en-US":"Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Reply STOP","zh-CN":"{{.Borrower.Name}}您好，借款已逾期。回复退订拒收"},
  "email":{"en-US":{"subject":"Loan {{.Loan.ID}} is overdue","body":"Dear {{.Borrower.Name}},\n\nplease pay. Reply STOP to stop."}}}}`
