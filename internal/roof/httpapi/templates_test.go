package httpapi_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// preview is the body of a preview response.
type preview struct {
	Text     string `json:"text"`
	Subject  string `json:"subject"`
	HTML     string `json:"html"`
	Encoding string `json:"encoding"`
	Segments int    `json:"segments"`
	Version  int    `json:"version"`
	Locale   string `json:"locale"`
}

func (b *bundle) put(t *testing.T, path, token, body string) response {
	t.Helper()
	return b.do(t, http.MethodPut, path, token, strings.NewReader(body), "application/json")
}

// putTemplate publishes a version and fails the test unless it is saved.
func (b *bundle) putTemplate(t *testing.T, id, body string) {
	t.Helper()
	if r := b.put(t, "/v1/templates/"+id, tokOps, body); r.status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", id, r.status, r.body)
	}
}

// bigTemplate is a valid template whose texts each render within bounds
// but together are more than one stored record may hold.
func bigTemplate() string {
	body := strings.Repeat("Your payment is due. ", 2500) + "Reply STOP to opt out."
	var texts []string
	for _, loc := range []string{"en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "it-IT", "pt-BR", "nl-NL", "sv-SE", "pl-PL", "ja-JP", "zh-CN"} {
		texts = append(texts, fmt.Sprintf("%q:{\"subject\":\"Payment due\",\"body\":%q}", loc, body))
	}
	return `{"category":"collection","channels":{"email":{` + strings.Join(texts, ",") + `}}}`
}

// TestTemplatePutTooLarge: a version too large to store is a 409 that says
// it is the template, not a borrower's record, and the live version stays.
func TestTemplatePutTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.putTemplate(t, "big", `{"category":"collection","channels":{"sms":{"en-US":"Hi. Reply STOP"}}}`)
	e := wantError(t, b.put(t, "/v1/templates/big", tokOps, bigTemplate()), http.StatusConflict)
	if e.Error.Code != "record_too_large" || !strings.Contains(e.Error.Message, "template") {
		t.Errorf("error %+v, want record_too_large about the template", *e.Error)
	}
	info := decode[struct {
		Live int `json:"live"`
	}](t, b.get(t, "/v1/templates/big", tokOps))
	if info.Live != 1 {
		t.Errorf("live = %d after a refused version, want 1", info.Live)
	}
}

func TestTemplatePreview(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)

	// A borrower in Shanghai whose loan fell due ten days ago there.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().In(shanghai).AddDate(0, 0, -10).Format(time.DateOnly)
	b.addBorrower(t, "b-prev")
	if r := b.post(t, "/v1/events", tokPublisher, loanEvent("ev-l-prev", "b-prev", "L-prev", due)); r.status != http.StatusOK {
		t.Fatalf("loan event: %d %s", r.status, r.body)
	}
	b.addBorrower(t, "b-noloan")

	// A template with two versions: v1 then the live v2.
	b.putTemplate(t, "prev", `{"category":"collection","channels":{"sms":{"en-US":"v1 {{.Borrower.Name}}. Reply STOP"}}}`)
	b.putTemplate(t, "prev", `{"category":"collection","channels":{"sms":{"en-US":"v2 {{.Borrower.Name}}. Reply STOP"}}}`)

	t.Run("ok", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			id    string
			body  string
			want  preview
			check func(t *testing.T, p preview)
		}{
			{
				name: "live version with the sample context",
				id:   "pre_due", body: `{"channel":"sms"}`,
				want: preview{Encoding: "GSM-7", Segments: 2, Version: 1, Locale: "en-US",
					Text: "Hi Alex Chen, a friendly reminder that your payment of CN¥1,200.00 for loan loan-sample is due on Mar 5, 2026. You can pay any time in the app. Reply STOP to opt out."},
			},
			{
				name: "sample in Chinese is UCS-2",
				id:   "pre_due", body: `{"channel":"sms","locale":"zh-CN"}`,
				check: func(t *testing.T, p preview) {
					if p.Encoding != "UCS-2" || p.Locale != "zh-CN" || p.Segments != 2 || !strings.Contains(p.Text, "Alex Chen您好") {
						t.Errorf("preview %+v, want UCS-2 zh-CN text in 2 segments", p)
					}
				},
			},
			{
				name: "a real borrower's case",
				id:   "overdue", body: `{"borrower_id":"b-prev","channel":"sms"}`,
				check: func(t *testing.T, p preview) {
					for _, s := range []string{"Hi Borrower b-prev,", "CN¥1,200.00", "loan L-prev", "is now 10 days overdue"} {
						if !strings.Contains(p.Text, s) {
							t.Errorf("text %q lacks %q", p.Text, s)
						}
					}
					if p.Encoding != "GSM-7" || p.Version != 1 || p.Locale != "en-US" {
						t.Errorf("preview %+v", p)
					}
				},
			},
			{
				name: "a borrower without a loan gets the sample loan",
				id:   "overdue", body: `{"borrower_id":"b-noloan","channel":"sms","locale":"zh-CN"}`,
				check: func(t *testing.T, p preview) {
					if !strings.Contains(p.Text, "Borrower b-noloan您好") || !strings.Contains(p.Text, "loan-sample") || p.Locale != "zh-CN" {
						t.Errorf("text %q", p.Text)
					}
				},
			},
			{
				name: "email has a subject and html",
				id:   "overdue", body: `{"borrower_id":"b-prev","channel":"email"}`,
				check: func(t *testing.T, p preview) {
					if p.Subject != "Your payment for loan L-prev is overdue" || !strings.Contains(p.HTML, "Dear Borrower b-prev,<br>") {
						t.Errorf("subject %q, html %q", p.Subject, p.HTML)
					}
				},
			},
			{
				name: "a saved version that is not live",
				id:   "prev", body: `{"channel":"sms","version":1}`,
				want: preview{Text: "v1 Alex Chen. Reply STOP", Encoding: "GSM-7", Segments: 1, Version: 1, Locale: "en-US"},
			},
			{
				name: "the live version",
				id:   "prev", body: `{"channel":"sms","borrower_id":"b-prev"}`,
				want: preview{Text: "v2 Borrower b-prev. Reply STOP", Encoding: "GSM-7", Segments: 1, Version: 2, Locale: "en-US"},
			},
			{
				name: "a draft",
				id:   "prev", body: `{"channel":"sms","borrower_id":"b-prev","channels":{"sms":{"en-US":"Draft {{.Borrower.Name}} {{money .Loan.AmountDue .Loan.Currency}}. Reply STOP"}}}`,
				want: preview{Text: "Draft Borrower b-prev CN¥1,200.00. Reply STOP", Encoding: "GSM-7", Segments: 1, Locale: "en-US"},
			},
			{
				name: "a draft of a new template",
				id:   "brand-new", body: `{"channel":"sms","channels":{"sms":{"en-US":"` + strings.Repeat("😀", 36) + `"}}}`,
				want: preview{Text: strings.Repeat("😀", 36), Encoding: "UCS-2", Segments: 2, Locale: "en-US"},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := b.post(t, "/v1/templates/"+tt.id+"/preview", tokOps, tt.body)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				got := decode[preview](t, r)
				if tt.check != nil {
					tt.check(t, got)
					return
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("preview =\n%+v\nwant\n%+v", got, tt.want)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name      string
			id        string
			token     string
			body      string
			status    int
			wantField string
			wantMsg   string
		}{
			{name: "support may not preview", id: "pre_due", token: tokSupport, body: `{"channel":"sms"}`, status: 403},
			{name: "unknown borrower", id: "pre_due", body: `{"borrower_id":"nobody","channel":"sms"}`, status: 404, wantField: "borrower_id"},
			{name: "unknown template", id: "nope", body: `{"channel":"sms"}`, status: 404},
			{name: "unknown version", id: "prev", body: `{"channel":"sms","version":9}`, status: 404},
			{name: "channel missing in the template", id: "pre_due", body: `{"channel":"voice"}`, status: 400, wantField: "channel"},
			{name: "channel missing in the draft", id: "prev", body: `{"channel":"email","channels":{"sms":{"en-US":"Hi. STOP"}}}`, status: 400, wantField: "channel"},
			{name: "no channel", id: "pre_due", body: `{}`, status: 400, wantField: "channel"},
			{name: "unknown channel", id: "pre_due", body: `{"channel":"fax"}`, status: 400, wantField: "channel"},
			{name: "unknown key", id: "pre_due", body: `{"channel":"sms","borower_id":"x"}`, status: 400},
			{name: "draft and version", id: "prev", body: `{"channel":"sms","version":1,"channels":{"sms":{"en-US":"Hi. STOP"}}}`, status: 400, wantField: "version"},
			{
				name: "draft with an unknown field", id: "prev", body: `{"channel":"sms","channels":{"sms":{"en-US":"Hi {{.Borrower.Nmae}}. STOP"}}}`,
				status: 400, wantField: "channels.sms.en-US", wantMsg: "channel sms, locale en-US",
			},
			{
				// The live version is a collection template: so is the draft.
				name: "draft without opt-out wording", id: "prev", body: `{"channel":"sms","channels":{"sms":{"zh-CN":"请还款"}}}`,
				status: 400, wantField: "channels.sms.zh-CN", wantMsg: "opt out",
			},
			{
				name: "draft too long", id: "prev", body: `{"channel":"sms","channels":{"sms":{"en-US":"` + strings.Repeat("x", 450) + ` {{.Borrower.Name}} STOP"}}}`,
				status: 400, wantField: "channels.sms.en-US", wantMsg: "renders to 4 SMS segments",
			},
			{name: "draft not shaped like a template", id: "prev", body: `{"channel":"sms","channels":{"sms":["x"]}}`, status: 400, wantField: "channels"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				token := tt.token
				if token == "" {
					token = tokOps
				}
				e := wantError(t, b.post(t, "/v1/templates/"+tt.id+"/preview", token, tt.body), tt.status)
				if e.Error.Field != tt.wantField {
					t.Errorf("field %q, want %q (%s)", e.Error.Field, tt.wantField, e.Error.Message)
				}
				if !strings.Contains(e.Error.Message, tt.wantMsg) {
					t.Errorf("message %q, want it to contain %q", e.Error.Message, tt.wantMsg)
				}
			})
		}
	})
}

func TestTemplateDiff(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.putTemplate(t, "d", `{"category":"collection","channels":{"sms":{"en-US":"Pay now. STOP"}}}`)
	b.putTemplate(t, "d", `{"category":"collection","channels":{"sms":{"en-US":"Please pay. STOP","zh-CN":"请还款。退订"}}}`)
	b.putTemplate(t, "d", `{"category":"collection","channels":{"sms":{"zh-CN":"请还款。退订"},"email":{"en-US":{"subject":"Overdue","body":"Pay. STOP"}}}}`)

	type change struct {
		Channel, Locale, Field, Kind, Before, After string
	}
	type diff struct {
		From, To int
		Changes  []change
	}
	tests := []struct {
		name  string
		query string
		want  diff
	}{
		{
			name: "1 to 2", query: "?from=1&to=2",
			want: diff{From: 1, To: 2, Changes: []change{
				{Channel: "sms", Locale: "en-US", Field: "body", Kind: "changed", Before: "Pay now. STOP", After: "Please pay. STOP"},
				{Channel: "sms", Locale: "zh-CN", Field: "body", Kind: "added", After: "请还款。退订"},
			}},
		},
		{
			name: "defaults to the live version and the one before", query: "",
			want: diff{From: 2, To: 3, Changes: []change{
				{Channel: "sms", Locale: "en-US", Field: "body", Kind: "removed", Before: "Please pay. STOP"},
				{Channel: "email", Locale: "en-US", Field: "subject", Kind: "added", After: "Overdue"},
				{Channel: "email", Locale: "en-US", Field: "body", Kind: "added", After: "Pay. STOP"},
			}},
		},
		{name: "backwards", query: "?from=2&to=1", want: diff{From: 2, To: 1, Changes: []change{
			{Channel: "sms", Locale: "en-US", Field: "body", Kind: "changed", Before: "Please pay. STOP", After: "Pay now. STOP"},
			{Channel: "sms", Locale: "zh-CN", Field: "body", Kind: "removed", Before: "请还款。退订"},
		}}},
		{name: "same version", query: "?from=2&to=2", want: diff{From: 2, To: 2, Changes: []change{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.get(t, "/v1/templates/d/diff"+tt.query, tokOps)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := decode[diff](t, r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diff =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}

	errTests := []struct {
		name, path, token string
		status            int
		wantField         string
	}{
		{name: "unknown template", path: "/v1/templates/nope/diff", token: tokOps, status: 404},
		{name: "unknown version", path: "/v1/templates/d/diff?from=1&to=7", token: tokOps, status: 404},
		{name: "bad from", path: "/v1/templates/d/diff?from=zero", token: tokOps, status: 400, wantField: "from"},
		{name: "bad to", path: "/v1/templates/d/diff?to=0", token: tokOps, status: 400, wantField: "to"},
		{name: "wrong role", path: "/v1/templates/d/diff", token: tokPublisher, status: 403},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := wantError(t, b.get(t, tt.path, tt.token), tt.status)
			if e.Error.Field != tt.wantField {
				t.Errorf("field %q, want %q", e.Error.Field, tt.wantField)
			}
		})
	}
}
