package templates

import (
	"errors"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	sms := func(category, loc, body string) Definition {
		return Definition{Category: category, Channels: map[domain.Channel]map[string]Text{domain.SMS: {loc: {Body: body}}}}
	}
	tests := []struct {
		name        string
		def         Definition
		wantChannel string
		wantLocale  string
		wantProblem string // substring; "" means valid
	}{
		{name: "valid sample", def: sampleDefinition()},
		{name: "agreement sms needs no opt-out", def: sms("agreement", "en-US", "Instalment due {{date .Agreement.NextDueDate}}")},
		{name: "undeclared category needs no opt-out", def: sms("", "en-US", "Hello {{.Borrower.Name}}")},
		{name: "zh opt-out phrase", def: sms("collection", "zh-CN", "请还款。回复退订拒收")},
		{
			name: "syntax error", def: sms("agreement", "zh-CN", "Hi {{.Borrower.Name"),
			wantChannel: "sms", wantLocale: "zh-CN", wantProblem: "unclosed action",
		},
		{
			name: "unknown field", def: sms("agreement", "en-US", "Hi {{.Borrower.Nmae}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "Nmae",
		},
		{
			name: "unknown helper", def: sms("agreement", "en-US", "Hi {{shout .Borrower.Name}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "shout",
		},
		{
			name: "helper misuse", def: sms("agreement", "en-US", "Owe {{money .Loan.DueDate .Loan.Currency}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "not a decimal",
		},
		{
			name: "email missing subject",
			def: Definition{Category: "agreement", Channels: map[domain.Channel]map[string]Text{
				domain.Email: {"zh-CN": {Body: "请还款"}},
			}},
			wantChannel: "email", wantLocale: "zh-CN", wantProblem: "subject",
		},
		{
			name: "collection sms without opt-out", def: sms("collection", "en-US", "Please pay {{money .Loan.AmountDue .Loan.Currency}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "opt out",
		},
		{
			name: "collection email without opt-out",
			def: Definition{Category: "collection", Channels: map[domain.Channel]map[string]Text{
				domain.Email: {"en-US": {Subject: "Reminder", Body: "Please pay."}},
			}},
			wantChannel: "email", wantLocale: "en-US", wantProblem: "opt out",
		},
		{
			name: "opt-out hidden behind a false branch", def: sms("collection", "en-US", "Pay now.{{if false}} STOP{{end}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "opt out",
		},
		{
			name: "sms with a subject",
			def: Definition{Channels: map[domain.Channel]map[string]Text{
				domain.SMS: {"en-US": {Subject: "x", Body: "y"}},
			}},
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "no subject",
		},
		{
			name: "empty body", def: sms("", "en-US", "  "),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "empty",
		},
		{
			name: "bad locale", def: sms("", "english", "Hi"),
			wantChannel: "sms", wantLocale: "english", wantProblem: "locale",
		},
		{
			name: "non-canonical locale", def: sms("", "zh_cn", "Hi"),
			wantChannel: "sms", wantLocale: "zh_cn", wantProblem: "zh-CN",
		},
		{name: "no channels", def: Definition{}, wantProblem: "no channels"},
		{
			name:        "unknown channel",
			def:         Definition{Channels: map[domain.Channel]map[string]Text{"fax": {"en-US": {Body: "hi"}}}},
			wantChannel: "fax", wantProblem: "unknown channel",
		},
		{name: "bad category", def: Definition{Category: "marketing", Channels: sampleDefinition().Channels}, wantProblem: "category"},
		{
			name: "runaway output", def: sms("", "en-US", "{{range 100000}}0123456789{{end}}"),
			wantChannel: "sms", wantLocale: "en-US", wantProblem: "exceeds",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.def.Validate()
			if tt.wantProblem == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if ve.Channel != tt.wantChannel || ve.Locale != tt.wantLocale || !strings.Contains(ve.Problem, tt.wantProblem) {
				t.Errorf("got {%q %q %q}, want {%q %q ...%q...}", ve.Channel, ve.Locale, ve.Problem, tt.wantChannel, tt.wantLocale, tt.wantProblem)
			}
			msg := err.Error()
			for _, part := range []string{tt.wantChannel, tt.wantLocale} {
				if !strings.Contains(msg, part) {
					t.Errorf("Error() = %q does not name %q", msg, part)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	def := Definition{Category: "collection", Channels: map[domain.Channel]map[string]Text{
		domain.SMS:   {"en-US": {Body: "pay"}, "zh-CN": {Body: "{{.Nope}}"}},
		domain.Voice: {"en-US": {Body: "hello {{.Borrower.Name}}"}},
	}}
	err := def.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"channel sms, locale en-US", "channel sms, locale zh-CN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "voice") {
		t.Errorf("voice needs no opt-out wording: %v", err)
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"pre_due", "final-notice", "v2.promo", "A1"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "has space", "a/b", ".hidden", "中文", strings.Repeat("x", 129)} {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) = nil", id)
		}
	}
}

func TestCustomOptOutPhrases(t *testing.T) {
	t.Parallel()
	def := Definition{Category: "collection", Channels: map[domain.Channel]map[string]Text{
		domain.SMS: {"en-US": {Body: "Pay now. Text END to unsubscribe."}},
	}}
	if _, err := compileChecked("", def, defaultRules()); err == nil {
		t.Error("default phrases accepted END")
	}
	if _, err := compileChecked("", def, rules{optOut: []string{"END"}, maxSegments: DefaultMaxSMSSegments}); err != nil {
		t.Errorf("custom phrase END refused: %v", err)
	}
}
