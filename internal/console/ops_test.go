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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/auth"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/console"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/httpapi"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/internal/store"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/templates"
)

var opsTokens = []config.Token{
	{Name: "ops", Token: "t-ops", Roles: []string{auth.RoleOps}},
	{Name: "desk", Token: "t-desk", Roles: []string{auth.RoleSupport}},
	{Name: "root", Token: "t-admin", Roles: []string{auth.RoleAdmin}},
}

// opsBundle is the API and the console on one real template store, state
// and embedded NATS, behind one test server, as internal/app builds them.
type opsBundle struct {
	srv   *httptest.Server
	store *templates.Store
	state *store.State
	ctx   context.Context
}

// defaultUses is what the default policies send (internal/app derives the
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

func TestOpsPagesNeedTheOpsRole(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	pages := []string{"/console/templates", "/console/templates/overdue", "/console/templates/overdue/diff?from=1&to=1", "/console/policies"}

	desk := b.browser(t, "t-desk")
	for _, path := range pages {
		if res := desk.get(t, path); res.status != http.StatusForbidden || !strings.Contains(res.body, "Not allowed") {
			t.Errorf("support GET %s: %d, want the 403 page", path, res.status)
		}
	}
	dash := desk.get(t, "/console/")
	if strings.Contains(dash.body, `href="/console/templates"`) || strings.Contains(dash.body, `href="/console/policies"`) {
		t.Errorf("support's menu links the ops pages")
	}
	form := url.Values{"csrf": {dash.csrf(t)}, "category": {"collection"}, "text.sms.en-US.body": {"changed. Reply STOP"}}
	if res := desk.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("support saving a template: %d, want 403", res.status)
	}
	if res := desk.post(t, "/console/templates/overdue/rollback", url.Values{"csrf": {dash.csrf(t)}, "version": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("support rolling back: %d, want 403", res.status)
	}
	if res := previewFetch(t, desk, "overdue", dash.csrf(t), `{"channels":{"sms":{"en-US":"x"}}}`); res.status != http.StatusForbidden {
		t.Errorf("support previewing: %d, want 403", res.status)
	}
	// What the API says to the same token.
	if status, _ := b.api(t, http.MethodGet, "/v1/templates", "t-desk", ""); status != http.StatusForbidden {
		t.Errorf("API GET /v1/templates for support: %d, want 403", status)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 || len(info.Versions) != 1 {
		t.Errorf("support's posts changed the template: live %d, %d versions", info.Live, len(info.Versions))
	}

	for _, token := range []string{"t-ops", "t-admin"} {
		s := b.browser(t, token)
		for _, path := range pages {
			if res := s.get(t, path); res.status != http.StatusOK {
				t.Errorf("%s GET %s: %d, want 200", token, path, res.status)
			}
		}
		dash := s.get(t, "/console/")
		if !strings.Contains(dash.body, `href="/console/templates"`) || !strings.Contains(dash.body, `href="/console/policies"`) {
			t.Errorf("%s's menu lacks the ops pages", token)
		}
	}
}

func TestTemplatesListShowsWhatTheAPIReturns(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	b.put(t, "overdue", strings.Replace(overdueV1, "please pay", "please pay soon", 1), "bob", "softer")
	b.put(t, "welcome", `{"channels":{"inapp":{"en-US":{"title":"Hi","body":"Welcome {{.Borrower.Name}}"}}}}`, "carol", "")

	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/templates")
	if res.status != http.StatusOK {
		t.Fatalf("list: %d", res.status)
	}
	status, body := b.api(t, http.MethodGet, "/v1/templates", "t-ops", "")
	if status != http.StatusOK {
		t.Fatalf("API list: %d", status)
	}
	var list struct {
		Templates []templates.Info `json:"templates"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Templates) != 2 {
		t.Fatalf("API lists %d templates, want 2", len(list.Templates))
	}
	for _, info := range list.Templates {
		_, row := elementByID(t, res.body, "template-row-"+info.ID)
		last := info.Versions[len(info.Versions)-1]
		for _, want := range []string{info.ID, "v" + strconv.Itoa(info.Live), last.Author, last.At.UTC().Format("2006-01-02 15:04")} {
			if !strings.Contains(text(row), want) {
				t.Errorf("row of %s %q lacks %q", info.ID, text(row), want)
			}
		}
	}
	_, row := elementByID(t, res.body, "template-row-overdue")
	if !strings.Contains(text(row), "collection") || !strings.Contains(text(row), "standard (collection)") {
		t.Errorf("overdue row %q: want its category and the policy that sends it", text(row))
	}
	// A template a policy sends but the store lacks is listed as missing.
	_, row = elementByID(t, res.body, "template-row-call")
	if !strings.Contains(text(row), "not in the store") {
		t.Errorf("call row %q: want it marked missing", text(row))
	}
}

func TestNewTemplateOpensAnEmptyEditorAndSavesVersion1(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	s := b.browser(t, "t-ops")
	if res := s.get(t, "/console/templates?new="+url.QueryEscape("bad id")); res.status != http.StatusBadRequest ||
		!strings.Contains(text(res.body), "may only hold letters") {
		t.Errorf("new template with a bad id: %d, want 400 with the store's reason", res.status)
	}
	res := s.get(t, "/console/templates?new=brand-new")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/templates/brand-new" {
		t.Fatalf("new template: %d to %q", res.status, res.header.Get("Location"))
	}
	ed := s.get(t, "/console/templates/brand-new")
	if ed.status != http.StatusOK || !strings.Contains(ed.body, "saving creates version 1") {
		t.Fatalf("editor of a new template: %d", ed.status)
	}
	form := editorForm(t, ed)
	form.Set("text.sms.en-US.body", "Hello {{.Borrower.Name}}")
	form.Set("note", "first words")
	if res := s.post(t, "/console/templates/brand-new", form); res.status != http.StatusSeeOther ||
		res.header.Get("Location") != "/console/templates/brand-new?saved=1" {
		t.Fatalf("save: %d to %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	info, def := b.apiTemplate(t, "brand-new")
	if info.Live != 1 || def.Channels[domain.SMS]["en-US"].Body != "Hello {{.Borrower.Name}}" || len(def.Channels) != 1 {
		t.Errorf("API after the save: live %d, definition %+v", info.Live, def)
	}
	if info.Versions[0].Author != "ops" || info.Versions[0].Note != "first words" {
		t.Errorf("version meta %+v, want author ops and the note", info.Versions[0])
	}
}

func TestEditorSavesANewVersionAndRedirects(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	if ed.status != http.StatusOK {
		t.Fatalf("editor: %d", ed.status)
	}
	_, def := b.apiTemplate(t, "overdue")
	// The form shows every channel × locale of the live version.
	for _, tc := range []struct{ id, want string }{
		{"tx-sms-en-US-body", def.Channels[domain.SMS]["en-US"].Body},
		{"tx-sms-zh-CN-body", def.Channels[domain.SMS]["zh-CN"].Body},
		{"tx-email-en-US-body", def.Channels[domain.Email]["en-US"].Body},
		{"tx-voice-en-US-body", ""},
		{"tx-inapp-zh-CN-body", ""},
	} {
		if got := textarea(t, ed.body, tc.id); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.id, got, tc.want)
		}
	}
	if open, _ := elementByID(t, ed.body, "tx-email-en-US-subject"); attr(open, "value") != def.Channels[domain.Email]["en-US"].Subject {
		t.Errorf("email subject field %s", open)
	}

	// Browsers send line breaks as CRLF: the saved text has LF.
	form := editorForm(t, ed)
	form.Set("text.email.en-US.body", "Dear {{.Borrower.Name}},\r\n\r\nplease pay today. Reply STOP to stop.")
	form.Set("text.voice.en-US.body", "Hello {{.Borrower.Name}}, please call us.")
	form.Set("text.sms.zh-CN.body", "   ") // blank: the locale is left out
	form.Set("note", "firmer email, a call script")
	res := s.post(t, "/console/templates/overdue", form)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/templates/overdue?saved=2" {
		t.Fatalf("save: %d to %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	info, def := b.apiTemplate(t, "overdue")
	if info.Live != 2 {
		t.Fatalf("live version %d, want 2", info.Live)
	}
	if got := def.Channels[domain.Email]["en-US"].Body; got != "Dear {{.Borrower.Name}},\n\nplease pay today. Reply STOP to stop." {
		t.Errorf("email body saved as %q", got)
	}
	if _, ok := def.Channels[domain.SMS]["zh-CN"]; ok {
		t.Errorf("a blank text was saved")
	}
	if def.Channels[domain.Voice]["en-US"].Body == "" || def.Note != "Sent while overdue." || def.Category != "collection" {
		t.Errorf("definition %+v", def)
	}
	if m := info.Versions[1]; m.Author != "ops" || m.Note != "firmer email, a call script" {
		t.Errorf("version 2 %+v", m)
	}
	after := s.get(t, res.header.Get("Location"))
	if _, notice := elementByID(t, after.body, "notice"); !strings.Contains(notice, "Version 2 saved") {
		t.Errorf("notice %q", notice)
	}
	if open, _ := elementByID(t, after.body, "diff-to-2"); !strings.Contains(open, "checked") {
		t.Errorf("the diff form does not default to the live version: %s", open)
	}
}

func TestRefusedVersionShowsTheAPIReasonNextToItsField(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")

	// A collection SMS without opt-out wording, and a field that does not
	// exist in the zh-CN text.
	badEN := "Pay now, {{.Borrower.Name}}."
	badZH := "{{.Borrower.Nmae}}您好。回复退订拒收"
	form := editorForm(t, ed)
	form.Set("text.sms.en-US.body", badEN)
	form.Set("text.sms.zh-CN.body", badZH)
	res := s.post(t, "/console/templates/overdue", form)
	if res.status != http.StatusBadRequest {
		t.Fatalf("refused save: %d, want 400", res.status)
	}
	// What was typed stays in the form.
	if got := textarea(t, res.body, "tx-sms-en-US-body"); got != badEN {
		t.Errorf("typed text lost: %q", got)
	}
	if _, summary := elementByID(t, res.body, "form-errors"); !strings.Contains(summary, "live version is unchanged") {
		t.Errorf("no refusal summary: %q", summary)
	}
	// The API refuses the same definition with the same reasons, naming
	// the fields the console marks.
	for _, tc := range []struct{ key, locale, text string }{{"sms-en-US", "en-US", badEN}, {"sms-zh-CN", "zh-CN", badZH}} {
		body, _ := json.Marshal(map[string]any{"category": "collection", "channels": map[string]any{"sms": map[string]string{tc.locale: tc.text}}})
		status, out := b.api(t, http.MethodPut, "/v1/templates/overdue", "t-ops", string(body))
		var e struct {
			Error struct{ Field, Message string } `json:"error"`
		}
		_ = json.Unmarshal(out, &e)
		if status != http.StatusBadRequest || e.Error.Field != "channels.sms."+tc.locale {
			t.Fatalf("API: %d %s", status, out)
		}
		open, inner := elementByID(t, res.body, "err-"+tc.key)
		if attr(open, "data-field") != e.Error.Field || text(inner) != e.Error.Message {
			t.Errorf("console shows %q at %q; the API says %q at %q", text(inner), attr(open, "data-field"), e.Error.Message, e.Error.Field)
		}
		ta, _ := elementByID(t, res.body, "tx-"+tc.key+"-body")
		if !strings.Contains(attr(ta, "aria-describedby"), "err-"+tc.key) || attr(ta, "aria-invalid") != "true" {
			t.Errorf("textarea %s does not point at its error", ta)
		}
	}
	// The text that was fine has no error.
	if open, _ := elementByID(t, res.body, "err-email-en-US"); !strings.Contains(open, "hidden") {
		t.Errorf("the email text is marked: %s", open)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 || len(info.Versions) != 1 {
		t.Errorf("after the refusals: live %d, %d versions; want 1, 1", info.Live, len(info.Versions))
	}

	// A note over the limit is refused next to the note, as the API does.
	form = editorForm(t, ed)
	form.Set("note", strings.Repeat("n", 1001))
	res = s.post(t, "/console/templates/overdue", form)
	if res.status != http.StatusBadRequest {
		t.Fatalf("long note: %d, want 400", res.status)
	}
	if open, inner := elementByID(t, res.body, "version-note-error"); attr(open, "data-field") != "note" || !strings.Contains(inner, "1001 bytes") {
		t.Errorf("note error %s %q", open, inner)
	}
	if status, _ := b.api(t, http.MethodPut, "/v1/templates/overdue?note="+strings.Repeat("n", 1001), "t-ops", overdueV1); status != http.StatusBadRequest {
		t.Errorf("API with the same note: %d, want 400", status)
	}
}

func TestPostsWithoutCSRFAreRefused(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	form := editorForm(t, ed)
	form.Del("csrf")
	if res := s.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("save without csrf: %d, want 403", res.status)
	}
	form.Set("csrf", "forged")
	if res := s.post(t, "/console/templates/overdue", form); res.status != http.StatusForbidden {
		t.Errorf("save with a forged csrf: %d, want 403", res.status)
	}
	if res := s.post(t, "/console/templates/overdue/rollback", url.Values{"version": {"1"}}); res.status != http.StatusForbidden {
		t.Errorf("rollback without csrf: %d, want 403", res.status)
	}
	if res := previewFetch(t, s, "overdue", "", `{"channels":{"sms":{"en-US":"x"}}}`); res.status != http.StatusForbidden {
		t.Errorf("preview without X-CSRF-Token: %d, want 403", res.status)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 || len(info.Versions) != 1 {
		t.Errorf("refused posts changed the template: live %d, %d versions", info.Live, len(info.Versions))
	}
}

// previewFetch posts a draft to the editor's live preview as editor.js
// does.
func previewFetch(t *testing.T, s *site, id, csrf, body string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/console/templates/"+id+"/preview", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return s.do(t, req)
}

type consolePreview struct {
	Previews []struct {
		Field, Channel, Locale, Subject, Text, Encoding, Error string
		Segments, Left                                         int
		Runs                                                   []struct {
			Text string
			UCS2 bool
		}
		Forcing []struct{ Char, Code string }
	} `json:"previews"`
	UnknownBorrower string `json:"unknown_borrower"`
}

func TestLivePreviewAnswersWhatTheAPIPreviewDoes(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	due := time.Now().UTC().AddDate(0, 0, -4).Format(time.DateOnly)
	if err := b.state.PutBorrower(b.ctx, domain.Borrower{ID: "b-1", Name: "Mei <Li>", Locale: "zh-CN", LoanIDs: []string{"L-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.state.PutCase(b.ctx, domain.Case{LoanID: "L-1", BorrowerID: "b-1", DueDate: due, AmountDue: "88.00", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-ops")
	csrf := s.get(t, "/console/templates/overdue").csrf(t)

	channels := map[string]any{
		"sms": map[string]any{
			"en-US": "Hi {{.Borrower.Name}}, {{money .Loan.AmountDue .Loan.Currency}} is {{days .Case.DaysPastDue}} overdue… Reply STOP",
			"zh-CN": "{{.Borrower.Name}}您好，已逾期{{days .Case.DaysPastDue}}。回复退订拒收",
		},
		"email": map[string]any{"en-US": map[string]string{"subject": "Loan {{.Loan.ID}}", "body": "Dear {{.Borrower.Name}}, pay. Reply STOP"}},
		"voice": map[string]any{"en-US": "Hello {{.Borrower.Nmae}}"},
	}
	for _, borrower := range []string{"", "b-1"} {
		req, _ := json.Marshal(map[string]any{"category": "collection", "borrower_id": borrower, "channels": channels})
		res := previewFetch(t, s, "overdue", csrf, string(req))
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
			t.Fatalf("preview for %q: %d %s", borrower, res.status, res.body)
		}
		var got consolePreview
		if err := json.Unmarshal([]byte(res.body), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Previews) != 4 {
			t.Fatalf("%d previews, want one per text (4)", len(got.Previews))
		}
		for _, p := range got.Previews {
			// The API's preview of a draft holding this one text.
			one := map[string]any{p.Channel: map[string]any{p.Locale: channels[p.Channel].(map[string]any)[p.Locale]}}
			body, _ := json.Marshal(map[string]any{"channel": p.Channel, "locale": p.Locale, "borrower_id": borrower, "category": "collection", "channels": one})
			status, out := b.api(t, http.MethodPost, "/v1/templates/overdue/preview", "t-ops", string(body))
			var want struct {
				Text, Subject, Encoding string
				Segments                int
				Error                   struct{ Message string }
			}
			_ = json.Unmarshal(out, &want)
			if status != http.StatusOK {
				if p.Error != want.Error.Message || p.Text != "" {
					t.Errorf("%s for %q: console error %q, API %d %q", p.Field, borrower, p.Error, status, want.Error.Message)
				}
				continue
			}
			if p.Error != "" || p.Text != want.Text || p.Subject != want.Subject || p.Encoding != want.Encoding || p.Segments != want.Segments {
				t.Errorf("%s for %q: console %+v, API %s", p.Field, borrower, p, out)
			}
			if m := templates.Measure(p.Text); p.Left != m.Left {
				t.Errorf("%s: %d left, want %d", p.Field, p.Left, m.Left)
			}
			var joined strings.Builder
			for _, r := range p.Runs {
				joined.WriteString(r.Text)
			}
			if joined.String() != p.Text {
				t.Errorf("%s: runs %q do not make up the text %q", p.Field, joined.String(), p.Text)
			}
		}
		sms := got.Previews[0]
		if sms.Field != "channels.sms.en-US" || sms.Encoding != "UCS-2" || len(sms.Forcing) != 1 || sms.Forcing[0].Char != "…" || sms.Forcing[0].Code != "U+2026" {
			t.Errorf("sms en-US preview %+v: want UCS-2 forced by the ellipsis alone", sms)
		}
		for _, r := range sms.Runs {
			if r.UCS2 != (r.Text == "…") {
				t.Errorf("run %+v marked wrong", r)
			}
		}
		if borrower == "b-1" && !strings.Contains(sms.Text, "Mei <Li>") {
			t.Errorf("preview for b-1: %q lacks the borrower's name", sms.Text)
		}
		if voice := got.Previews[2]; voice.Field != "channels.voice.en-US" || !strings.Contains(voice.Error, "Nmae") {
			t.Errorf("voice preview %+v, want the store's reason", voice)
		}
	}

	res := previewFetch(t, s, "overdue", csrf, `{"borrower_id":"nobody","channels":{"sms":{"en-US":"x"}}}`)
	var got consolePreview
	_ = json.Unmarshal([]byte(res.body), &got)
	if res.status != http.StatusOK || !strings.Contains(got.UnknownBorrower, "nobody") || len(got.Previews) != 0 {
		t.Errorf("unknown borrower: %d %s", res.status, res.body)
	}
	many := map[string]string{}
	for i := range 81 {
		many["x"+strconv.Itoa(i)] = "text"
	}
	manyJSON, _ := json.Marshal(map[string]any{"channels": map[string]any{"sms": many}})
	if res := previewFetch(t, s, "overdue", csrf, string(manyJSON)); res.status != http.StatusBadRequest || !strings.Contains(res.body, "at most 80 texts") {
		t.Errorf("a preview of 81 texts: %d %s, want 400", res.status, res.body)
	}
	if res := previewFetch(t, s, "overdue", csrf, `{"chanels":{}}`); res.status != http.StatusBadRequest {
		t.Errorf("a misspelt preview request: %d, want 400", res.status)
	}
	if res := previewFetch(t, s, "overdue", csrf, `{"channels":`+strings.Repeat(" ", 1<<20)+`{}}`); res.status != http.StatusBadRequest {
		t.Errorf("a preview request over the size limit: %d, want 400", res.status)
	}
}

func TestPreviewWithoutJavaScript(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	// The first render already shows the previews, with sample data.
	if _, box := elementByID(t, ed.body, "pv-sms-en-US"); !strings.Contains(text(box), "Hi Alex Chen, loan loan-sample is overdue. Reply STOP") ||
		!strings.Contains(text(box), "GSM-7") {
		t.Errorf("first preview %q", text(box))
	}
	form := editorForm(t, ed)
	form.Set("text.sms.en-US.body", "Hi {{.Borrower.Name}} “soon”. Reply STOP")
	form.Set("action", "preview")
	res := s.post(t, "/console/templates/overdue", form)
	if res.status != http.StatusOK {
		t.Fatalf("preview button: %d", res.status)
	}
	_, box := elementByID(t, res.body, "pv-sms-en-US")
	if !strings.Contains(box, `<mark class="ucs2">“</mark>`) || !strings.Contains(text(box), "UCS-2") || !strings.Contains(text(box), "U+201C") {
		t.Errorf("preview of a text with curly quotes:\n%s", box)
	}
	if _, left := elementByID(t, res.body, "pv-sms-en-US-left"); left != strconv.Itoa(templates.Measure("Hi Alex Chen “soon”. Reply STOP").Left) {
		t.Errorf("characters left %q", left)
	}
	if info, _ := b.apiTemplate(t, "overdue"); len(info.Versions) != 1 {
		t.Errorf("previewing saved a version")
	}

	// Add a locale: the typed text stays, a column appears, nothing is
	// saved.
	form.Set("action", "add_locale")
	form.Set("add_locale", "fr-FR")
	res = s.post(t, "/console/templates/overdue", form)
	if res.status != http.StatusOK || textarea(t, res.body, "tx-sms-fr-FR-body") != "" ||
		textarea(t, res.body, "tx-sms-en-US-body") != "Hi {{.Borrower.Name}} “soon”. Reply STOP" {
		t.Errorf("add locale: %d", res.status)
	}
	form.Set("add_locale", "<b>")
	res = s.post(t, "/console/templates/overdue", form)
	if _, e := elementByID(t, res.body, "add-locale-error"); !strings.Contains(e, "&lt;b&gt;") {
		t.Errorf("bad locale error %q", e)
	}
}

func TestDiffPageShowsWhatTheAPIDiffReturns(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	v2 := strings.NewReplacer("please pay.", "please pay today.", `"category":"collection",`, "").Replace(overdueV1)
	v2 = strings.Replace(v2, `"email":`, `"inapp":{"en-US":{"title":"Overdue","body":"Pay in the app"}},"email":`, 1)
	b.put(t, "overdue", v2, "bob", "second")

	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/templates/overdue/diff?from=1&to=2")
	if res.status != http.StatusOK {
		t.Fatalf("diff: %d", res.status)
	}
	status, body := b.api(t, http.MethodGet, "/v1/templates/overdue/diff?from=1&to=2", "t-ops", "")
	if status != http.StatusOK {
		t.Fatalf("API diff: %d", status)
	}
	var api struct{ Changes []templates.Change }
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if len(api.Changes) != 4 {
		t.Fatalf("API lists %d changes, want 4 (category, inapp title and body, email body)", len(api.Changes))
	}
	rows := regexp.MustCompile(`data-testid="diff-[^"]+" data-kind`).FindAllString(res.body, -1)
	if len(rows) != len(api.Changes) {
		t.Errorf("the page shows %d changes, the API %d", len(rows), len(api.Changes))
	}
	for _, ch := range api.Changes {
		testID := "diff-" + ch.Field
		if ch.Channel != "" {
			testID = "diff-" + ch.Channel + "-" + ch.Locale + "-" + ch.Field
		}
		m := regexp.MustCompile(`(?s)<tr [^>]*data-testid="` + regexp.QuoteMeta(testID) + `" data-kind="([^"]+)">(.*?)</tr>`).FindStringSubmatch(res.body)
		if m == nil {
			t.Errorf("no row %s", testID)
			continue
		}
		if m[1] != ch.Kind {
			t.Errorf("%s: kind %s, API %s", testID, m[1], ch.Kind)
		}
		before := regexp.MustCompile(`(?s)data-role="before">(.*?)</td>`).FindStringSubmatch(m[2])
		after := regexp.MustCompile(`(?s)data-role="after">(.*?)</td>`).FindStringSubmatch(m[2])
		if text(before[1]) != ch.Before || text(after[1]) != ch.After {
			t.Errorf("%s: before %q after %q; API %q %q", testID, text(before[1]), text(after[1]), ch.Before, ch.After)
		}
	}
	if !strings.Contains(res.body, "please pay<ins> today</ins>.") {
		t.Errorf("the added word is not marked")
	}
	// Defaults as the API's: to the live version, from the one before.
	if def := s.get(t, "/console/templates/overdue/diff"); !strings.Contains(def.body, "version 1 to 2") {
		t.Errorf("default diff is not 1 to 2")
	}
	for path, want := range map[string]int{
		"/console/templates/overdue/diff?from=0":      http.StatusBadRequest,
		"/console/templates/overdue/diff?to=x":        http.StatusBadRequest,
		"/console/templates/overdue/diff?from=1&to=9": http.StatusNotFound,
		"/console/templates/nothing/diff":             http.StatusNotFound,
	} {
		if res := s.get(t, path); res.status != want {
			t.Errorf("GET %s: %d, want %d", path, res.status, want)
		}
	}
}

func TestRollbackMakesAnOlderVersionLive(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	b.put(t, "overdue", strings.Replace(overdueV1, "please pay", "please pay now", 1), "bob", "second")
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	open, _ := elementByID(t, ed.body, "rollback-1")
	if !strings.Contains(attr(open, "data-confirm"), "version 1 live") || attr(open, "method") != "post" {
		t.Errorf("rollback form %s: want a post that asks first", open)
	}
	if strings.Contains(ed.body, `id="rollback-2"`) {
		t.Errorf("the live version offers a rollback to itself")
	}
	res := s.post(t, "/console/templates/overdue/rollback", url.Values{"csrf": {ed.csrf(t)}, "version": {"1"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/templates/overdue?live=1" {
		t.Fatalf("rollback: %d to %q", res.status, res.header.Get("Location"))
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 {
		t.Errorf("API live %d after the rollback, want 1", info.Live)
	}
	after := s.get(t, "/console/templates/overdue?live=1")
	if _, notice := elementByID(t, after.body, "notice"); !strings.Contains(notice, "Version 1 is live again") {
		t.Errorf("notice %q", notice)
	}
	if _, row := elementByID(t, after.body, "version-1"); !strings.Contains(row, `data-testid="live-marker"`) {
		t.Errorf("version 1 is not marked live")
	}
	if res := s.post(t, "/console/templates/overdue/rollback", url.Values{"csrf": {ed.csrf(t)}, "version": {"7"}}); res.status != http.StatusNotFound {
		t.Errorf("rollback to a missing version: %d, want 404", res.status)
	}
	if info, _ := b.apiTemplate(t, "overdue"); info.Live != 1 {
		t.Errorf("a refused rollback moved the live version to %d", info.Live)
	}
}

func TestOpsPagesEscapeEveryValue(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Policies[0].Steps[0].ID = "<script>step</script>"
	})
	b.put(t, "overdue", `{"category":"collection","note":"<script>note</script>","channels":{"sms":{"en-US":"<script>alert(1)</script> {{.Borrower.Name}} Reply STOP"}}}`,
		"<img src=x onerror=alert(2)>", "<script>vnote</script>")
	if err := b.state.PutBorrower(b.ctx, domain.Borrower{ID: "b-x", Name: "<script>alert(3)</script>"}); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-ops")
	ed := s.get(t, "/console/templates/overdue")
	form := editorForm(t, ed)
	form.Set("borrower", "b-x")
	form.Set("action", "preview")
	for _, res := range []page{
		s.get(t, "/console/templates"), ed, s.post(t, "/console/templates/overdue", form), s.get(t, "/console/policies"),
	} {
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, raw := range []string{"<script>alert", "<script>note", "<script>vnote", "<img src=x", "<script>step"} {
			if strings.Contains(res.body, raw) {
				t.Errorf("%q reached the page unescaped", raw)
			}
		}
	}
	pv := s.post(t, "/console/templates/overdue", form)
	if _, box := elementByID(t, pv.body, "pv-sms-en-US"); !strings.Contains(box, "&lt;script&gt;alert(3)&lt;/script&gt;") {
		t.Errorf("the borrower's name is not in the preview as text:\n%s", box)
	}
}

func TestOpsPagesInChinese(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	b.put(t, "overdue", overdueV1, "alice", "first")
	s := b.browser(t, "t-ops")
	for path, want := range map[string][]string{
		"/console/templates":         {"使用该模板的策略", "standard（催收）"},
		"/console/templates/overdue": {"保存为新版本", "本版本备注", "按借款人预览", "版本"},
		"/console/policies":          {"当前生效的联系规则", "借款人当地时间 08:00 至 21:00", "3天前，仅一次", "1天后，之后每3天一次，最后一次在29天后", "内置默认值"},
	} {
		res := s.get(t, path, "Accept-Language", "zh-CN")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.status)
		}
		for _, w := range want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s in Chinese lacks %q", path, w)
			}
		}
	}
}

func TestPoliciesPageDrawsAndListsEveryStep(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	if res.status != http.StatusOK {
		t.Fatalf("policies: %d", res.status)
	}
	for _, p := range config.Default().Policies {
		svg, _ := elementByID(t, res.body, "timeline-"+p.ID)
		if attr(svg, "role") != "img" || !strings.Contains(attr(svg, "aria-labelledby"), "timeline-title-"+p.ID) {
			t.Errorf("timeline of %s has no accessible name: %s", p.ID, svg)
		}
		for _, st := range p.Steps {
			if !strings.Contains(res.body, `data-testid="step-`+p.ID+"-"+st.ID+`"`) {
				t.Errorf("table of %s lacks step %s", p.ID, st.ID)
			}
		}
	}
	_, svg := elementByID(t, res.body, "timeline-standard")
	// overdue: 1d, every 3d until 29d is ten sends: a dot and nine ticks.
	overdue := regexp.MustCompile(`(?s)<g class="tl-row" data-step="overdue">(.*?)</g>\s*</g>`).FindStringSubmatch(svg)
	if overdue == nil || strings.Count(overdue[1], `class="tl-mark"`) != 9 || strings.Count(overdue[1], `class="tl-dot"`) != 1 {
		t.Errorf("overdue row: want one dot and nine repeat ticks\n%v", overdue)
	}
	// call repeats while the case is open: an arrow.
	if call := regexp.MustCompile(`(?s)data-step="call">(.*?)</g>\s*</g>`).FindStringSubmatch(svg); call == nil || !strings.Contains(call[1], "tl-arrow") {
		t.Errorf("call row has no arrow")
	}
	// pre-due sends sms and inapp: one lane each.
	if pre := regexp.MustCompile(`(?s)data-step="pre-due">(.*?)</g>\s*</g>`).FindStringSubmatch(svg); pre == nil ||
		!strings.Contains(pre[1], `data-channel="sms"`) || !strings.Contains(pre[1], `data-channel="inapp"`) {
		t.Errorf("pre-due row lacks a lane per channel")
	}
	_, row := elementByID(t, res.body, "steps-standard")
	for _, want := range []string{"3 days before, once", "1 day after, then every 3 days, the last at 29 days after", "7 days after, then every 2 days while the case is open", "at -3d", "at 1d, every 3d, until 29d"} {
		if !strings.Contains(text(row), want) {
			t.Errorf("steps table lacks %q", want)
		}
	}
	_, rules := elementByID(t, res.body, "rules")
	for _, want := range []string{"between 08:00 and 21:00", "SMS: at most 3 in any 1 day, counted per borrower. (built-in default)",
		"Calls: at most 7 in any 7 days, counted per loan.", "Email: no cap.", "STOP, UNSUBSCRIBE, 退订, TD, T", "No preset"} {
		if !strings.Contains(text(rules), want) {
			t.Errorf("rules lack %q:\n%s", want, text(rules))
		}
	}
}

func TestPoliciesPageSaysWhereEachRuleComesFrom(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Compliance.Preset = config.Presets{compliance.PresetCNGBT}
		c.Compliance.SendWindow = config.Window{Start: "09:00", End: "20:00"}
		c.Compliance.Caps = map[string]config.Cap{"email": {Max: 2, Per: config.Duration(7 * 24 * time.Hour)}}
	})
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	for id, want := range map[string]string{
		"rule-window":    "between 09:00 and 20:00 in the borrower's local time; where the phone number's region has other zones, only in the hours inside the window in all of them. Outside it they wait and are sent when it opens. (set by compliance.send_window)",
		"rule-cap-email": "Email: at most 2 in any 7 days, counted per borrower. (set by compliance.caps.email)",
		"rule-cap-sms":   "(built-in default)",
		"rule-connected": "At most 3 connected calls per borrower per local day. (from preset cn-gbt-2025)",
	} {
		if _, li := elementByID(t, res.body, id); !strings.Contains(text(li), want) {
			t.Errorf("%s = %q, want %q", id, text(li), want)
		}
	}
	if _, p := elementByID(t, res.body, "rules-sources"); !strings.Contains(text(p), "贷后催收风控指引") {
		t.Errorf("preset sources %q", text(p))
	}
}

// TestPoliciesPageNamesThePresetOfEachRule: with presets combined, each
// rule line names the preset its value comes from, and the rules only a
// preset sets are listed.
func TestPoliciesPageNamesThePresetOfEachRule(t *testing.T) {
	t.Parallel()
	b := newOps(t, func(c *config.Config) {
		c.Compliance.Preset = config.Presets{compliance.PresetUSRegF, compliance.PresetUSMA}
	})
	s := b.browser(t, "t-ops")
	res := s.get(t, "/console/policies")
	for id, want := range map[string]string{
		"rule-phone-contacts": "at most 2 calls and texts in any 7 days to a home or mobile number, and 2 in any 30 days to other numbers. (from preset us-ma)",
		"rule-number-check":   "within 60 days; otherwise it waits for one. (from preset us-regf)",
		"rule-consent":        "(from preset us-regf)",
		"rule-cap-voice":      "(from preset us-regf)",
		"rules-preset":        "Preset: us-regf, us-ma.",
	} {
		if _, li := elementByID(t, res.body, id); !strings.Contains(text(li), want) {
			t.Errorf("%s = %q, want %q", id, text(li), want)
		}
	}
	if _, p := elementByID(t, res.body, "rules-sources"); !strings.Contains(text(p), "940 CMR 7.04(1)(f)") || !strings.Contains(text(p), "1006.14(b)(3)(i)") {
		t.Errorf("preset sources %q", text(p))
	}
}

func TestOpsPagesWithoutTheirDependenciesAre404(t *testing.T) {
	t.Parallel()
	s := newSite(t, tokens)
	s.signIn(t, "t-ops")
	for _, path := range []string{"/console/templates", "/console/templates/x", "/console/policies"} {
		if res := s.get(t, path); res.status != http.StatusNotFound {
			t.Errorf("GET %s without ops dependencies: %d, want 404", path, res.status)
		}
	}
}

// TestPoliciesPageDryRun: the policies page runs a dry run of the
// configuration on generated borrowers, compared with a preset, and shows
// its totals and charts as SVG images; a bad number is refused beside the
// form.
func TestPoliciesPageDryRun(t *testing.T) {
	t.Parallel()
	b := newOps(t, nil)
	if _, err := b.store.Seed(b.ctx, "", "test"); err != nil {
		t.Fatal(err)
	}
	s := b.browser(t, "t-ops")
	page := s.get(t, "/console/policies")
	if _, form := elementByID(t, page.body, "dry-run-form"); !strings.Contains(form, `name="days"`) || !strings.Contains(form, `value="us-regf"`) {
		t.Fatalf("no dry-run form with days and the presets:\n%s", form)
	}
	res := s.post(t, "/console/policies/dry-run", url.Values{"csrf": {page.csrf(t)}, "days": {"10"}, "borrowers": {"40"}, "preset": {"us-regf"}})
	if res.status != http.StatusOK {
		t.Fatalf("dry run: %d %s", res.status, res.body)
	}
	_, section := elementByID(t, res.body, "dry-run")
	for _, want := range []string{"live: 40 borrowers, 10 days from", "us-regf: 40 borrowers", "sent "} {
		if !strings.Contains(text(section), want) {
			t.Errorf("dry run section lacks %q:\n%s", want, text(section))
		}
	}
	for _, chart := range []string{"status", "compare", "timeline"} {
		img, _ := elementByID(t, res.body, "dry-run-chart-"+chart)
		if !strings.HasPrefix(attr(img, "src"), "data:image/svg+xml;base64,") || attr(img, "alt") == "" {
			t.Errorf("chart %s: %s, want an SVG image with a text", chart, img)
		}
	}
	for _, tt := range []struct {
		name      string
		form      url.Values
		wantError string
	}{
		{name: "400 days", form: url.Values{"days": {"400"}, "borrowers": {"40"}}, wantError: "1 to 90"},
		{name: "5000 borrowers", form: url.Values{"days": {"10"}, "borrowers": {"5000"}}, wantError: "1 to 2000"},
		{name: "no number", form: url.Values{"days": {"ten"}, "borrowers": {"40"}}, wantError: "1 to 90"},
		{name: "unknown preset", form: url.Values{"days": {"10"}, "borrowers": {"40"}, "preset": {"nope"}}, wantError: "variant.compliance.preset"},
	} {
		tt.form.Set("csrf", page.csrf(t))
		res = s.post(t, "/console/policies/dry-run", tt.form)
		if _, msg := elementByID(t, res.body, "dry-run-error"); res.status != http.StatusBadRequest || !strings.Contains(text(msg), tt.wantError) {
			t.Errorf("%s: %d %q, want 400 saying %q", tt.name, res.status, text(msg), tt.wantError)
		}
	}
}
