package templates

import (
	"errors"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
)

// withVoicemail is a valid collection template with a voice script and the
// voicemail text vm in en-US.
func withVoicemail(vm string) Definition {
	return Definition{
		Category: "collection",
		Channels: map[domain.Channel]map[string]Text{
			domain.Voice: {"en-US": {Body: "Hello {{.Borrower.Name}}, {{money .Loan.AmountDue .Loan.Currency}} is overdue."}},
		},
		Voicemail: map[string]string{"en-US": vm},
	}
}

// TestVoicemailIsALimitedContentMessage: a voicemail may name the borrower
// and otherwise say only fixed words; anything that would tell a listener
// about the debt (loan, case, agreement, step, the whole context, a helper)
// is refused naming the voicemail's locale, the field and the rule.
func TestVoicemailIsALimitedContentMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		voicemail   string
		wantProblem string // substring; "" means valid
	}{
		{name: "fixed words", voicemail: "This is Sam from Acme Services. Please call us back at 800-555-0100."},
		{name: "the borrower's name", voicemail: "Hello {{.Borrower.Name}}, this is Sam from Acme Services. Please call 800-555-0100."},
		{name: "the name by $", voicemail: "Hello {{$.Borrower.Name}}, please call Sam at 800-555-0100."},
		{name: "the name in a condition", voicemail: "{{if .Borrower.Name}}Hello {{.Borrower.Name}}. {{end}}Please call Sam at 800-555-0100."},
		{name: "amount due", voicemail: "You owe {{.Loan.AmountDue}}. Call 800-555-0100.", wantProblem: ".Loan.AmountDue"},
		{name: "loan id", voicemail: "About {{.Loan.ID}}: call 800-555-0100.", wantProblem: ".Loan.ID"},
		{name: "days past due", voicemail: "{{.Case.DaysPastDue}} days. Call 800-555-0100.", wantProblem: ".Case.DaysPastDue"},
		{name: "agreement", voicemail: "Plan {{.Agreement.ID}}. Call 800-555-0100.", wantProblem: ".Agreement.ID"},
		{name: "loan behind $", voicemail: "{{$.Loan.AmountDue}}. Call 800-555-0100.", wantProblem: ".Loan.AmountDue"},
		{name: "loan in a condition", voicemail: "{{if .Loan.AmountDue}}Pay.{{end}} Call 800-555-0100.", wantProblem: ".Loan.AmountDue"},
		{name: "loan through with", voicemail: "{{with .Loan}}{{.ID}}{{end}} Call 800-555-0100.", wantProblem: ".Loan"},
		{name: "the whole context", voicemail: "{{.}} Call 800-555-0100.", wantProblem: "{{.}}"},
		{name: "the step", voicemail: "{{.Step}}. Call 800-555-0100.", wantProblem: ".Step"},
		{name: "borrower id", voicemail: "{{.Borrower.ID}}. Call 800-555-0100.", wantProblem: ".Borrower.ID"},
		{name: "a helper", voicemail: `{{money "10" "USD"}}. Call 800-555-0100.`, wantProblem: "money"},
		{name: "a variable", voicemail: `{{$x := .Borrower.Name}}{{$x}}. Call 800-555-0100.`, wantProblem: "$x"},
		{name: "empty", voicemail: "  ", wantProblem: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileChecked("overdue", withVoicemail(tt.voicemail), defaultRules())
			if tt.wantProblem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if !ve.Voicemail || ve.Locale != "en-US" || !strings.Contains(ve.Problem, tt.wantProblem) {
				t.Errorf("got {voicemail %v, %q, %q}, want {voicemail, en-US, ...%q...}", ve.Voicemail, ve.Locale, ve.Problem, tt.wantProblem)
			}
			if tt.wantProblem != "empty" {
				for _, want := range []string{`"overdue"`, "1006.2(j)"} {
					if !strings.Contains(ve.Problem, want) {
						t.Errorf("problem %q does not name %s", ve.Problem, want)
					}
				}
			}
			if !strings.Contains(err.Error(), "voicemail") {
				t.Errorf("Error() = %q does not say voicemail", err)
			}
		})
	}
}

// TestVoicemailNeedsAVoiceScript: a voicemail belongs to a call; a template
// without voice texts has nothing to leave it after.
func TestVoicemailNeedsAVoiceScript(t *testing.T) {
	t.Parallel()
	def := Definition{
		Channels:  map[domain.Channel]map[string]Text{domain.InApp: {"en-US": {Subject: "Hi", Body: "Please pay."}}},
		Voicemail: map[string]string{"en-US": "Please call Sam at 800-555-0100."},
	}
	var ve *ValidationError
	if err := def.Validate(); !errors.As(err, &ve) || !ve.Voicemail || !strings.Contains(ve.Problem, "voice") {
		t.Fatalf("Validate() = %v, want a voicemail problem naming the missing voice texts", err)
	}
	bad := withVoicemail("Please call Sam at 800-555-0100.")
	bad.Voicemail["english"] = "Call us."
	if err := bad.Validate(); !errors.As(err, &ve) || !ve.Voicemail || ve.Locale != "english" {
		t.Fatalf("Validate() = %v, want a voicemail problem naming the bad locale", err)
	}
}

// TestVoiceRenderCarriesTheVoicemail: rendering the voice channel gives the
// script and the voicemail text in the borrower's locale (else en-US);
// other channels and templates without one carry none.
func TestVoiceRenderCarriesTheVoicemail(t *testing.T) {
	t.Parallel()
	def := withVoicemail("Hello {{.Borrower.Name}}, please call Sam at 800-555-0100.")
	def.Channels[domain.SMS] = map[string]Text{"en-US": {Body: "Pay now. Reply STOP"}}
	def.Voicemail["zh-CN"] = "{{.Borrower.Name}}您好，请回电 800-555-0100。"
	c, err := compileChecked("call", def, defaultRules())
	if err != nil {
		t.Fatal(err)
	}
	c.id = "call"
	data := Sample("zh-CN")
	got, err := c.render(domain.Voice, "zh-CN", data)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Alex Chen您好，请回电 800-555-0100。"; got.Voicemail != want || got.VoicemailLocale != "zh-CN" {
		t.Errorf("voicemail %q (%s), want %q (zh-CN)", got.Voicemail, got.VoicemailLocale, want)
	}
	if !strings.Contains(got.Text, "1,200.00") {
		t.Errorf("script %q lost the amount", got.Text)
	}
	fr, err := c.render(domain.Voice, "fr-FR", Sample("fr-FR"))
	if err != nil || fr.VoicemailLocale != "en-US" {
		t.Errorf("fr-FR borrower: voicemail locale %q, %v; want the en-US text", fr.VoicemailLocale, err)
	}
	sms, err := c.render(domain.SMS, "en-US", data)
	if err != nil || sms.Voicemail != "" {
		t.Errorf("sms render carries voicemail %q, %v", sms.Voicemail, err)
	}
	plain, err := compileChecked("plain", withVoicemail("x"), defaultRules())
	if err != nil {
		t.Fatal(err)
	}
	delete(plain.channels, domain.SMS)
	plain.voicemail = nil
	if r, err := plain.render(domain.Voice, "en-US", data); err != nil || r.Voicemail != "" {
		t.Errorf("template without voicemail: %q, %v", r.Voicemail, err)
	}
}

// TestVoicemailSurvivesTheFileFormats: a voicemail read from YAML or JSON
// is written back the same way, beside channels.
func TestVoicemailSurvivesTheFileFormats(t *testing.T) {
	t.Parallel()
	const src = `category: collection
channels:
  voice:
    en-US: "Hello {{.Borrower.Name}}, your loan is overdue."
voicemail:
  en-US: "Hello {{.Borrower.Name}}, please call Sam at 800-555-0100."
`
	def, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if def.Voicemail["en-US"] == "" {
		t.Fatalf("voicemail not read: %#v", def)
	}
	data, err := def.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Voicemail["en-US"] != def.Voicemail["en-US"] {
		t.Errorf("JSON round trip: %s", data)
	}
	changes := Diff(def, Definition{Category: def.Category, Channels: def.Channels})
	if len(changes) != 1 || changes[0].Field != "voicemail" || changes[0].Kind != ChangeRemoved || changes[0].Locale != "en-US" {
		t.Errorf("diff without the voicemail = %+v, want one removed voicemail", changes)
	}
}
