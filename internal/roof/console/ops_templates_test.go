package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

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
