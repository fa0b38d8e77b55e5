package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestVoicemailWithLoanFieldsIsRefused: a voicemail text that uses
// .Loan.AmountDue is refused on save with a 400 that names the template,
// the field (voicemail.<locale>) and the rule (12 CFR 1006.2(j)); the live
// version stays.
func TestVoicemailWithLoanFieldsIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	const script = `"voice":{"en-US":"Hello {{.Borrower.Name}}, {{.Loan.AmountDue}} is overdue."}`
	b.putTemplate(t, "vm-call", `{"category":"collection","channels":{`+script+`},
		"voicemail":{"en-US":"Hello {{.Borrower.Name}}, please call Sam at 800-555-0100."}}`)

	r := b.put(t, "/v1/templates/vm-call", tokOps, `{"category":"collection","channels":{`+script+`},
		"voicemail":{"en-US":"Hello {{.Borrower.Name}}, you owe {{.Loan.AmountDue}}. Call 800-555-0100."}}`)
	e := wantError(t, r, http.StatusBadRequest)
	if e.Error.Field != "voicemail.en-US" || e.Error.Code != "invalid_template" {
		t.Errorf("error %+v, want invalid_template on field voicemail.en-US", *e.Error)
	}
	for _, want := range []string{`"vm-call"`, ".Loan.AmountDue", "12 CFR 1006.2(j)"} {
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("message %q does not name %s", e.Error.Message, want)
		}
	}
	got := decode[struct {
		Live       int `json:"live"`
		Definition struct {
			Voicemail map[string]string `json:"voicemail"`
		} `json:"definition"`
	}](t, b.get(t, "/v1/templates/vm-call", tokOps))
	if got.Live != 1 || !strings.Contains(got.Definition.Voicemail["en-US"], "call Sam") {
		t.Errorf("after the refusal: live v%d with voicemail %q, want v1 with its own", got.Live, got.Definition.Voicemail)
	}
}

// TestVoicePreviewShowsTheVoicemail: the preview of the voice channel
// shows the voicemail beside the script, for the saved version and for a
// draft; a draft voicemail that uses a loan field is refused as a save
// would be.
func TestVoicePreviewShowsTheVoicemail(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.putTemplate(t, "vm-prev", `{"category":"collection","channels":{"voice":{"en-US":"Hello {{.Borrower.Name}}, your loan is overdue."}},
		"voicemail":{"en-US":"Hello {{.Borrower.Name}}, please call Sam at 800-555-0100."}}`)
	type voicePreview struct {
		Text            string `json:"text"`
		Voicemail       string `json:"voicemail"`
		VoicemailLocale string `json:"voicemail_locale"`
	}
	p := decode[voicePreview](t, b.post(t, "/v1/templates/vm-prev/preview", tokOps, `{"channel":"voice"}`))
	if p.Voicemail != "Hello Alex Chen, please call Sam at 800-555-0100." || p.VoicemailLocale != "en-US" ||
		p.Text != "Hello Alex Chen, your loan is overdue." {
		t.Errorf("preview %+v", p)
	}
	draft := decode[voicePreview](t, b.post(t, "/v1/templates/vm-prev/preview", tokOps,
		`{"channel":"voice","channels":{"voice":{"en-US":"Hi {{.Borrower.Name}}."}},"voicemail":{"en-US":"Call Ann at 800-555-0199."}}`))
	if draft.Voicemail != "Call Ann at 800-555-0199." || draft.Text != "Hi Alex Chen." {
		t.Errorf("draft preview %+v", draft)
	}
	r := b.post(t, "/v1/templates/vm-prev/preview", tokOps,
		`{"channel":"voice","channels":{"voice":{"en-US":"Hi."}},"voicemail":{"en-US":"{{.Case.DaysPastDue}} days late."}}`)
	if e := wantError(t, r, http.StatusBadRequest); e.Error.Field != "voicemail.en-US" {
		t.Errorf("draft with a case field: %+v", *e.Error)
	}
}
