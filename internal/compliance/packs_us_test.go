package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// TestMAContactsPerDebt: per debt, the third call or text in 7 days to a
// home or mobile number is refused, and the third in 30 days to any other
// number; the kind comes from the borrower or, where not given, from the
// number's type.
func TestMAContactsPerDebt(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	rules := presets(t, loc(t, ny), PresetUSRegF, PresetUSMA)
	now := at(t, ny, "2026-05-20 12:00")
	day := 24 * time.Hour
	sms := func(loan string, ago time.Duration) Attempt {
		return attempt(domain.SMS, loan, now.Add(-ago), OutcomeSent)
	}
	call := func(loan string, ago time.Duration, outcome string) Attempt {
		return attempt(domain.Voice, loan, now.Add(-ago), outcome)
	}
	person := func(phone, kind string) domain.Borrower {
		b := checked(borrower(ny, phone), now.Add(-day), domain.PhoneCheckReassigned)
		b.PhoneKind = kind
		return b
	}
	mobile, work := person("+12125550100", domain.PhoneMobile), person("+12125550100", domain.PhoneWork)
	tests := []struct {
		name      string
		b         domain.Borrower
		ch        domain.Channel
		ledger    []Attempt
		wantOK    bool
		wantUntil time.Time
	}{
		{"mobile: two in 7 days, the third call refused", mobile, domain.Voice, []Attempt{sms("L1", 6*day), call("L1", 2*day, OutcomeNoAnswer)}, false, now.Add(day)},
		{"mobile: two in 7 days, the third text refused", mobile, domain.SMS, []Attempt{call("L1", 5*day, OutcomeRang), sms("L1", time.Hour)}, false, now.Add(2 * day)},
		{"mobile: one in 7 days", mobile, domain.Voice, []Attempt{sms("L1", 8*day), call("L1", 2*day, OutcomeRang)}, true, time.Time{}},
		{"mobile: other debts do not count", mobile, domain.Voice, []Attempt{sms("L2", 6*day), call("L2", 2*day, OutcomeRang)}, true, time.Time{}},
		{"mobile: busy calls did not reach the line", mobile, domain.Voice, []Attempt{call("L1", 3*day, OutcomeBusy), call("L1", 2*day, OutcomeFailed)}, true, time.Time{}},
		{"work: two in 30 days, the third refused", work, domain.Voice, []Attempt{sms("L1", 20*day), call("L1", 12*day, OutcomeNoAnswer)}, false, now.Add(10 * day)},
		{"work: two, one 31 days ago", work, domain.Voice, []Attempt{sms("L1", 31*day), call("L1", 12*day, OutcomeNoAnswer)}, true, time.Time{}},
		{"no kind, +1 number: home or mobile", person("+12125550100", ""), domain.Voice, []Attempt{sms("L1", 6*day), call("L1", 2*day, OutcomeRang)}, false, now.Add(day)},
		{"no kind, +1 number: 7 days, not 30", person("+12125550100", ""), domain.Voice, []Attempt{sms("L1", 20*day), call("L1", 12*day, OutcomeRang)}, true, time.Time{}},
		{"no kind, unknown number type: the stricter 30 days", person("+15555550100", ""), domain.Voice, []Attempt{sms("L1", 20*day), call("L1", 12*day, OutcomeRang)}, false, now.Add(10 * day)},
		{"email is not a phone contact", mobile, domain.Email, []Attempt{sms("L1", 6*day), call("L1", 2*day, OutcomeRang)}, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(now, reminder(tt.ch, "L1"), tt.b, Ledger{Attempts: tt.ledger})
			if tt.wantOK {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			wantHeld(t, d, domain.Capped, RulePhoneContacts, PresetUSMA, citeMAContacts, tt.wantUntil)
		})
	}
}

func TestPhoneKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		phone, given string
		personal     bool
	}{
		{"+12125550100", "", true},        // US: fixed line or mobile, the data cannot tell
		{"+8613800138000", "", true},      // CN mobile
		{"+861012345678", "", true},       // CN fixed line: home
		{"+442079460000", "", true},       // GB fixed line: home
		{"+447911123456", "", true},       // GB mobile
		{"+18005550100", "", false},       // toll free
		{"+15555550100", "", false},       // no such number: the stricter side
		{"", "", false},                   // no number
		{"+12125550100", "work", false},   // the borrower says
		{"+12125550100", "other", false},  //
		{"+442079460000", "mobile", true}, //
		{"+18005550100", "home", true},    //
	}
	for _, tt := range tests {
		b := domain.Borrower{Phone: tt.phone, PhoneKind: tt.given}
		if kind, personal := phoneKind(&b); personal != tt.personal {
			t.Errorf("phoneKind(%s, %q) = %q personal %v, want personal %v", tt.phone, tt.given, kind, personal, tt.personal)
		}
	}
}

// TestRegFConsentExcludesCalls: calls placed after the borrower's consent
// to calls are not counted toward 7 calls in 7 days while the consent is
// under 7 days old; on day 8 they count again.
func TestRegFConsentExcludesCalls(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	rules := presets(t, loc(t, ny), PresetUSRegF)
	day := 24 * time.Hour
	consent := at(t, ny, "2026-05-01 12:00")
	// Seven calls that rang, on days 5 and 6 after the consent.
	var after []Attempt
	for i := range 7 {
		after = append(after, attempt(domain.Voice, "L1", consent.Add(5*day+time.Duration(i)*4*time.Hour), OutcomeRang))
	}
	var before []Attempt
	for i := range 7 {
		before = append(before, attempt(domain.Voice, "L1", consent.Add(-time.Duration(7-i)*time.Hour), OutcomeRang))
	}
	b := borrower(ny, "+12125550100")
	b.Consents = []domain.Consent{{Channel: domain.Voice, At: consent}}
	smsOnly := b
	smsOnly.Consents = []domain.Consent{{Channel: domain.SMS, At: consent}}
	tests := []struct {
		name   string
		b      domain.Borrower
		ledger []Attempt
		now    time.Time
		wantOK bool
	}{
		{"day 7: the consented calls do not count", b, after, consent.Add(7*day - time.Minute), true},
		{"day 8: the consent is over, they count again", b, after, consent.Add(8 * day), false},
		{"exactly 7 days: over", b, after, consent.Add(7 * day), false},
		{"calls before the consent count", b, before, consent.Add(time.Hour), false},
		{"a consent to SMS changes no call count", smsOnly, after, consent.Add(7*day - time.Minute), false},
		{"no consent", borrower(ny, "+12125550100"), after, consent.Add(7*day - time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(tt.now, reminder(domain.Voice, "L1"), tt.b, Ledger{Attempts: tt.ledger})
			if tt.wantOK {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			wantHeld(t, d, domain.Capped, RuleCap, PresetUSRegF, citeRegFSevenInSeven, time.Time{})
		})
	}
	t.Run("a capped call names the consented calls it did not count", func(t *testing.T) {
		t.Parallel()
		ledger := append(append([]Attempt{}, before...), after[:3]...)
		d := rules.Check(consent.Add(5*day+13*time.Hour), reminder(domain.Voice, "L1"), b, Ledger{Attempts: ledger})
		wantHeld(t, d, domain.Capped, RuleCap, PresetUSRegF, citeRegFSevenInSeven, time.Time{})
		if !strings.Contains(d.Reason, "3 placed after the borrower's consent") || !strings.Contains(d.Reason, citeRegFConsent) {
			t.Errorf("reason %q does not name the consented calls and their article", d.Reason)
		}
	})
}

// TestRegFNumberCheck: an SMS to a number last confirmed more than 60 days
// ago is deferred (not dropped) until a consent or a reassigned-number
// check is recorded; a fresh one lets it go.
func TestRegFNumberCheck(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	rules := presets(t, loc(t, ny), PresetUSRegF)
	day := 24 * time.Hour
	check := at(t, ny, "2026-03-01 12:00")
	rem := reminder(domain.SMS, "L1")
	base := borrower(ny, "+12125550100")
	withConsent := func(ch domain.Channel, when time.Time) domain.Borrower {
		b := base
		b.Consents = []domain.Consent{{Channel: ch, At: when}}
		return b
	}
	tests := []struct {
		name   string
		b      domain.Borrower
		now    time.Time
		wantOK bool
	}{
		{"day 60 after a check", checked(base, check, domain.PhoneCheckReassigned), check.Add(60 * day), true},
		{"day 61 without a new check", checked(base, check, domain.PhoneCheckReassigned), check.Add(61 * day), false},
		{"day 61 with a fresh check", checked(base, check.Add(60*day), domain.PhoneCheckReassigned), check.Add(61 * day), true},
		{"a check by consent", checked(base, check, domain.PhoneCheckConsent), check.Add(30 * day), true},
		{"a consent to SMS confirms the number", withConsent(domain.SMS, check.Add(50*day)), check.Add(61 * day), true},
		{"a consent to calls does not", withConsent(domain.Voice, check.Add(50*day)), check.Add(61 * day), false},
		{"never checked", base, check, false},
		{"a check stamped in the future does not count yet", checked(base, check.Add(time.Hour), domain.PhoneCheckReassigned), check, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rem
			r.DueAt = tt.now.Add(-time.Hour)
			d := rules.Check(tt.now, r, tt.b, Ledger{})
			if tt.wantOK {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			wantHeld(t, d, domain.Deferred, RuleNumberCheck, PresetUSRegF, citeRegFNumberCheck, r.DueAt.Add(numberHold))
			// The same reason at every return, so the deferral is recorded once.
			if again := rules.Check(tt.now.Add(30*time.Minute), r, tt.b, Ledger{}); again.Reason != d.Reason {
				t.Errorf("reason changed half an hour later:\n%s\n%s", d.Reason, again.Reason)
			}
		})
	}
	t.Run("calls are not held", func(t *testing.T) {
		t.Parallel()
		if d := rules.Check(check, reminder(domain.Voice, "L1"), base, Ledger{}); !d.Allowed {
			t.Fatalf("%+v, want allowed", d)
		}
	})
	t.Run("a week past its due time without a check: capped", func(t *testing.T) {
		t.Parallel()
		r := rem
		r.DueAt = check
		d := rules.Check(check.Add(numberHold), r, base, Ledger{})
		wantHeld(t, d, domain.Capped, RuleNumberCheck, PresetUSRegF, citeRegFNumberCheck, time.Time{})
	})
	t.Run("without us-regf no check", func(t *testing.T) {
		t.Parallel()
		if d := compile(t, config.Compliance{}, loc(t, ny)).Check(check, rem, base, Ledger{}); !d.Allowed {
			t.Fatalf("%+v, want allowed", d)
		}
	})
}
