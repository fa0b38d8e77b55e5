package console_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

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
