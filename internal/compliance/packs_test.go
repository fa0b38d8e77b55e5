package compliance

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
)

// presets compiles rules from preset names alone.
func presets(t testing.TB, def *time.Location, names ...string) Rules {
	t.Helper()
	return compile(t, config.Compliance{Preset: config.Presets(names)}, def)
}

// checked returns b with its number confirmed at when.
func checked(b domain.Borrower, when time.Time, how string) domain.Borrower {
	b.PhoneCheckedAt, b.PhoneCheck = &when, how
	return b
}

// wantHeld fails unless d holds the reminder with the given status and rule,
// names the pack and citation in the decision and at the head of its
// reason, and (when until is not zero) lasts until until.
func wantHeld(t *testing.T, d Decision, status domain.Status, rule, pack, citation string, until time.Time) {
	t.Helper()
	if d.Allowed || d.Status != status || d.Rule != rule {
		t.Fatalf("got allowed=%v %s/%s (%s), want %s/%s", d.Allowed, d.Status, d.Rule, d.Reason, status, rule)
	}
	if d.Pack != pack || d.Citation != citation {
		t.Errorf("source %q %q, want %q %q", d.Pack, d.Citation, pack, citation)
	}
	if prefix := rule + "[" + pack + " " + citation + "]: "; !strings.HasPrefix(d.Reason, prefix) {
		t.Errorf("reason %q does not start with %q", d.Reason, prefix)
	}
	if !until.IsZero() && !d.Until.Equal(until) {
		t.Errorf("Until = %s, want %s (%s)", d.Until, until, d.Reason)
	}
}

// TestPackWindowEdges: each pack's window at its edges, in the zone the
// texts are written for.
func TestPackWindowEdges(t *testing.T) {
	t.Parallel()
	const sh, ny = "Asia/Shanghai", "America/New_York"
	tests := []struct {
		preset   string
		zone     string
		phone    string
		lastOK   string // the last minute inside
		closes   string // the first minute outside
		opens    string // when it opens again
		pack     string
		citation string
	}{
		{PresetCNGBT, sh, "+8613800138000", "2026-05-05 21:59", "2026-05-05 22:00", "2026-05-06 08:00", PresetCNGBT, citeGBTHours},
		{PresetCNCBA, sh, "+8613800138000", "2026-05-05 21:59", "2026-05-05 22:00", "2026-05-06 08:00", PresetCNCBA, citeCBAHours},
		{PresetCNNIFA, sh, "+8613800138000", "2026-05-05 21:59", "2026-05-05 22:00", "2026-05-06 08:00", PresetCNGBT, citeGBTHours},
		{PresetUSRegF, ny, "+12125550100", "2026-05-05 20:59", "2026-05-05 21:00", "2026-05-06 08:00", PresetUSRegF, citeRegFHours},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			t.Parallel()
			rules := presets(t, loc(t, tt.zone), tt.preset)
			// Voice: the US SMS also needs a checked number, not at issue here.
			rem, b := reminder(domain.Voice, "L1"), borrower(tt.zone, tt.phone)
			for _, ok := range []string{tt.lastOK, tt.opens, strings.Replace(tt.opens, "08:00", "12:00", 1)} {
				if d := rules.Check(at(t, tt.zone, ok), rem, b, Ledger{}); !d.Allowed {
					t.Errorf("%s: %+v, want allowed", ok, d)
				}
			}
			for _, late := range []string{tt.closes, strings.Replace(tt.opens, "08:00", "07:59", 1), strings.Replace(tt.opens, "08:00", "00:30", 1)} {
				d := rules.Check(at(t, tt.zone, late), rem, b, Ledger{})
				wantHeld(t, d, domain.Deferred, RuleSendWindow, tt.pack, tt.citation, at(t, tt.zone, tt.opens))
			}
		})
	}
}

// TestGBTConnectedCallsPerDay: the fourth connected call of a day with one
// debtor is refused, whatever loan it is about and whoever spoke; calls
// that did not connect do not count; the day is the borrower's.
func TestGBTConnectedCallsPerDay(t *testing.T) {
	t.Parallel()
	const sh = "Asia/Shanghai"
	rules := presets(t, loc(t, sh), PresetCNGBT)
	now := at(t, sh, "2026-05-05 15:00")
	call := func(loan, when, outcome string) Attempt { return attempt(domain.Voice, loan, at(t, sh, when), outcome) }
	tests := []struct {
		name   string
		ledger []Attempt
		wantOK bool
	}{
		{"three connected: the fourth is refused", []Attempt{call("L1", "2026-05-05 09:00", OutcomeConnected), call("L2", "2026-05-05 10:00", OutcomeConnected), call("L3", "2026-05-05 14:00", OutcomeConnected)}, false},
		{"two connected, others only rang", []Attempt{call("L1", "2026-05-05 09:00", OutcomeConnected), call("L2", "2026-05-05 10:00", OutcomeConnected),
			call("L3", "2026-05-05 11:00", OutcomeNoAnswer), call("L5", "2026-05-05 12:00", OutcomeVoicemail), call("L6", "2026-05-05 13:00", OutcomeRang)}, true},
		{"one of the three was yesterday", []Attempt{call("L1", "2026-05-04 21:30", OutcomeConnected), call("L2", "2026-05-05 10:00", OutcomeConnected), call("L3", "2026-05-05 14:00", OutcomeConnected)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(now, reminder(domain.Voice, "L4"), borrower(sh, "+8613800138000"), Ledger{Attempts: tt.ledger})
			if tt.wantOK {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			wantHeld(t, d, domain.Capped, RuleConnectedPerDay, PresetCNGBT, citeGBTCalls, at(t, sh, "2026-05-06 00:00"))
		})
	}
}

// TestCBAUnansweredAttemptsPerDay: the seventh call of a day to one number
// is refused when six went unanswered; busy calls are attempts too,
// failed (never placed) and cancelled ones are not.
func TestCBAUnansweredAttemptsPerDay(t *testing.T) {
	t.Parallel()
	const sh = "Asia/Shanghai"
	rules := presets(t, loc(t, sh), PresetCNCBA)
	now := at(t, sh, "2026-05-05 18:00")
	calls := func(n int, outcome string) []Attempt {
		var out []Attempt
		for i := range n {
			out = append(out, attempt(domain.Voice, "L1", now.Add(-time.Duration(n-i)*time.Hour), outcome))
		}
		return out
	}
	mixed := append(append(calls(2, OutcomeNoAnswer), calls(2, OutcomeBusy)...), calls(2, OutcomeVoicemail)...)
	for i := range mixed {
		mixed[i].At = mixed[i].At.Add(-time.Duration(i) * time.Minute) // distinct ids
		mixed[i].ID += string(rune('a' + i))
	}
	yesterday := calls(6, OutcomeNoAnswer)
	for i := range yesterday {
		yesterday[i].At = yesterday[i].At.Add(-24 * time.Hour)
	}
	tests := []struct {
		name   string
		ledger []Attempt
		wantOK bool
	}{
		{"five unanswered", calls(5, OutcomeNoAnswer), true},
		{"six unanswered: the seventh is refused", calls(6, OutcomeNoAnswer), false},
		{"six unanswered or busy", mixed, false},
		{"failed and cancelled are not attempts", append(calls(5, OutcomeNoAnswer), append(calls(3, OutcomeFailed), calls(3, OutcomeCanceled)...)...), true},
		{"six yesterday", yesterday, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(now, reminder(domain.Voice, "L1"), borrower(sh, "+8613800138000"), Ledger{Attempts: tt.ledger})
			if tt.wantOK {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			wantHeld(t, d, domain.Capped, RuleCallsPerDay, PresetCNCBA, citeCBAAttempts, at(t, sh, "2026-05-06 00:00"))
		})
	}
}

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

// TestWindowInEveryZoneOfTheNumber: +1 208 (Idaho) is in America/Boise
// and America/Los_Angeles; the window must hold in both, and in the
// borrower's stated zone.
func TestWindowInEveryZoneOfTheNumber(t *testing.T) {
	t.Parallel()
	rules := compile(t, config.Compliance{}, loc(t, "Asia/Shanghai")) // 08:00-21:00
	const idaho = "+12085550100"
	tests := []struct {
		name   string
		stored string
		now    string // RFC 3339
		wantOK bool
		until  string
		reason []string
	}{
		// July: Boise MDT (UTC-6), Los Angeles PDT (UTC-7). Open 08:00 LA
		// (09:00 Boise) to 21:00 Boise (20:00 LA).
		{"08:30 Boise is 07:30 in LA", "America/Boise", "2026-07-10T14:30:00Z", false, "2026-07-10T15:00:00Z",
			[]string{"08:30 America/Boise / 07:30 America/Los_Angeles (phone region) is outside 08:00-21:00", "(08:00 America/Los_Angeles)"}},
		{"09:00 Boise", "America/Boise", "2026-07-10T15:00:00Z", true, "", nil},
		{"20:59 Boise", "America/Boise", "2026-07-11T02:59:00Z", true, "", nil},
		{"21:00 Boise is 20:00 in LA", "America/Boise", "2026-07-11T03:00:00Z", false, "2026-07-11T15:00:00Z", nil},
		{"stored LA: 20:00 LA is 21:00 in Boise", "America/Los_Angeles", "2026-07-11T03:00:00Z", false, "2026-07-11T15:00:00Z",
			[]string{"20:00 America/Los_Angeles / 21:00 America/Boise (phone region)"}},
		// Stated zone New York: 11:00-21:00 Eastern (08:00 LA to 21:00 NY).
		{"stated NY: 10:59 NY", "America/New_York", "2026-07-10T14:59:00Z", false, "2026-07-10T15:00:00Z",
			[]string{"America/New_York", "America/Boise (phone region)", "America/Los_Angeles (phone region)"}},
		{"stated NY: 11:00 NY", "America/New_York", "2026-07-10T15:00:00Z", true, "", nil},
		{"stated NY: 21:00 NY", "America/New_York", "2026-07-11T01:00:00Z", false, "2026-07-11T15:00:00Z", nil},
		// January: Boise MST (UTC-7), LA PST (UTC-8).
		{"winter: 08:59 Boise", "America/Boise", "2026-01-10T15:59:00Z", false, "2026-01-10T16:00:00Z", nil},
		{"winter: 09:00 Boise", "America/Boise", "2026-01-10T16:00:00Z", true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(utc(t, tt.now), reminder(domain.SMS, "L1"), borrower(tt.stored, idaho), Ledger{})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if !tt.wantOK {
				wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", utc(t, tt.until))
			}
			for _, s := range tt.reason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
}

// TestNumberPlacedOnlyByItsCountry: a +1 number the data places nowhere
// narrower than the NANP may be in any of its 40 zones, from Guam to
// Newfoundland, which in July share 22:00-23:30 UTC inside 08:00-21:00;
// with a stated zone that shares none of it, the stated zone decides and
// the reason says so.
func TestNumberPlacedOnlyByItsCountry(t *testing.T) {
	t.Parallel()
	const denver = "America/Denver"
	rules := compile(t, config.Compliance{}, loc(t, denver))
	b := borrower(denver, "+15555550100")
	if n := len(Zones(b.Phone, b.Timezone, rules.DefaultZone)); n < 30 {
		t.Fatalf("%d zones, want the NANP's", n)
	}
	d := rules.Check(at(t, denver, "2026-07-10 12:00"), reminder(domain.SMS, "L1"), b, Ledger{})
	wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", at(t, denver, "2026-07-10 16:00")) // 08:00 in Guam
	if !strings.Contains(d.Reason, "more zones") {
		t.Errorf("reason %q does not say there are more zones", d.Reason)
	}
	if d := rules.Check(at(t, denver, "2026-07-10 17:29"), reminder(domain.SMS, "L1"), b, Ledger{}); !d.Allowed {
		t.Errorf("17:29 Denver: %+v, want allowed", d)
	}
	d = rules.Check(at(t, denver, "2026-07-10 17:30"), reminder(domain.SMS, "L1"), b, Ledger{}) // 21:00 in St John's
	wantHeld(t, d, domain.Deferred, RuleSendWindow, PackForbear, "default", at(t, denver, "2026-07-11 16:00"))

	shanghai := borrower("Asia/Shanghai", "+15555550100")
	d = rules.Check(at(t, "Asia/Shanghai", "2026-07-10 12:00"), reminder(domain.SMS, "L1"), shanghai, Ledger{})
	if !d.Allowed || !strings.Contains(d.Reason, "share no time") || !strings.Contains(d.Reason, "more zones of the phone number") ||
		!strings.Contains(d.Reason, "primary zone Asia/Shanghai decides") {
		t.Fatalf("%+v, want allowed by the stated zone, saying why", d)
	}
}

// TestCannotShareIsSound: whenever the quick test says the zones share no
// time, the exact search finds none either.
func TestCannotShareIsSound(t *testing.T) {
	t.Parallel()
	phones := []string{"+15555550100", "+5215512345678", "+61891234567", "+79001234567", "+12085550100", "+17015550100"}
	windows := []config.Window{{}, {Start: "09:00", End: "17:00"}, {Start: "08:00", End: "21:00"}, {Start: "08:00", End: "22:00"}, {Start: "11:00", End: "12:00"}}
	quick := 0
	for _, w := range windows {
		rules := compile(t, config.Compliance{SendWindow: w}, loc(t, "Asia/Shanghai"))
		for _, phone := range phones {
			for _, stored := range []string{"", "America/New_York", "Pacific/Auckland"} {
				zs := zonesOf(phone, stored, rules.DefaultZone)
				g := gate{w: rules.Window, zs: zs, ch: domain.SMS}
				n := zs.count(true)
				for h := range 24 * 14 {
					now := utc(t, "2026-03-01T00:00:00Z").Add(time.Duration(h)*time.Hour + 17*time.Minute)
					if !g.cannotShare(now, n) {
						continue
					}
					quick++
					if g.allowed(now, n) {
						t.Fatalf("%s %s %s at %s: allowed now, yet cannotShare", phone, stored, rules.Window, now)
					}
					if until, ok := g.next(now, n); ok {
						t.Fatalf("%s %s %s at %s: shares %s, yet cannotShare", phone, stored, rules.Window, now, until)
					}
				}
			}
		}
	}
	if quick == 0 {
		t.Fatal("cannotShare never answered: nothing checked")
	}
}

// TestCombinedPresets: a list of presets is at least as strict as each of
// them, rule by rule, whatever the order, and each decision names the
// preset whose value decided.
func TestCombinedPresets(t *testing.T) {
	t.Parallel()
	sh := loc(t, "Asia/Shanghai")
	names := PresetNames()
	for _, a := range names {
		for _, b := range names {
			ab, ba := presets(t, sh, a, b), presets(t, sh, b, a)
			one, other := presets(t, sh, a), presets(t, sh, b)
			for _, single := range []Rules{one, other} {
				// What the preset sets (not the built-in rules under it).
				if _, set := single.Sources[RuleSendWindow]; set && (ab.Window.Start < single.Window.Start || ab.Window.End > single.Window.End) {
					t.Errorf("[%s %s] window %s is wider than %s", a, b, ab.Window, single.Window)
				}
				for ch, c := range single.Caps {
					if !ab.Caps[ch].atLeastAsStrict(c) {
						t.Errorf("[%s %s] %s cap %s is looser than %s", a, b, ch, ab.Caps[ch], c)
					}
				}
				for _, pair := range [][2]int{{ab.MaxConnectedPerDay, single.MaxConnectedPerDay}, {ab.MaxCallsPerDay, single.MaxCallsPerDay}} {
					if pair[1] > 0 && (pair[0] == 0 || pair[0] > pair[1]) {
						t.Errorf("[%s %s] a daily limit %d is looser than %d", a, b, pair[0], pair[1])
					}
				}
				if ab.AfterConversation < single.AfterConversation || single.NumberCheck > 0 && ab.NumberCheck > single.NumberCheck ||
					single.RequireOptOutLine && !ab.RequireOptOutLine || single.PhoneContacts.on() && ab.PhoneContacts != single.PhoneContacts {
					t.Errorf("[%s %s] looser than %v", a, b, single.Presets)
				}
			}
			if ab.Window != ba.Window || ab.MaxConnectedPerDay != ba.MaxConnectedPerDay || ab.MaxCallsPerDay != ba.MaxCallsPerDay ||
				ab.NumberCheck != ba.NumberCheck || ab.ConsentWindow != ba.ConsentWindow || ab.PhoneContacts != ba.PhoneContacts {
				t.Errorf("[%s %s] and [%s %s] differ", a, b, b, a)
			}
		}
	}

	t.Run("us-regf and cn-gbt-2025: the earlier close wins and says whose it is", func(t *testing.T) {
		t.Parallel()
		rules := presets(t, sh, PresetCNGBT, PresetUSRegF)
		if rules.Window != (Window{Start: 8 * 60, End: 21 * 60}) || rules.MaxConnectedPerDay != 3 {
			t.Fatalf("window %s, %d connected a day", rules.Window, rules.MaxConnectedPerDay)
		}
		d := rules.Check(at(t, "Asia/Shanghai", "2026-05-05 21:30"), reminder(domain.Voice, "L1"), borrower("Asia/Shanghai", "+8613800138000"), Ledger{})
		wantHeld(t, d, domain.Deferred, RuleSendWindow, PresetUSRegF, citeRegFHours, at(t, "Asia/Shanghai", "2026-05-06 08:00"))
		l := Ledger{}
		for i, loan := range []string{"L1", "L2", "L3"} {
			l.Attempts = append(l.Attempts, attempt(domain.Voice, loan, at(t, "Asia/Shanghai", "2026-05-05 10:00").Add(time.Duration(i)*time.Hour), OutcomeConnected))
		}
		d = rules.Check(at(t, "Asia/Shanghai", "2026-05-05 15:00"), reminder(domain.Voice, "L4"), borrower("Asia/Shanghai", "+8613800138000"), l)
		wantHeld(t, d, domain.Capped, RuleConnectedPerDay, PresetCNGBT, citeGBTCalls, time.Time{})
	})
	t.Run("both Chinese texts: both limits", func(t *testing.T) {
		t.Parallel()
		rules := presets(t, sh, PresetCNGBT, PresetCNCBA)
		if rules.MaxConnectedPerDay != 3 || rules.MaxCallsPerDay != 6 || rules.Window != (Window{Start: 8 * 60, End: 22 * 60}) {
			t.Fatalf("%+v", rules)
		}
	})
	t.Run("a window bound from each", func(t *testing.T) {
		t.Parallel()
		r := builtin()
		set := map[string]bool{}
		early := pack{window: &Window{Start: 7 * 60, End: 20 * 60}, cite: map[string]string{RuleSendWindow: "A §1"}}
		late := pack{window: &Window{Start: 9 * 60, End: 22 * 60}, cite: map[string]string{RuleSendWindow: "B §2"}}
		if err := early.apply(&r, "a", set); err != nil {
			t.Fatal(err)
		}
		if err := late.apply(&r, "b", set); err != nil {
			t.Fatal(err)
		}
		if r.Window != (Window{Start: 9 * 60, End: 20 * 60}) || r.Sources[RuleSendWindow] != (Source{Pack: "a+b", Citation: "A §1; B §2"}) {
			t.Fatalf("window %s from %+v", r.Window, r.Sources[RuleSendWindow])
		}
		if err := (pack{window: &Window{Start: 20 * 60, End: 23 * 60}}).apply(&r, "c", set); err == nil || !strings.Contains(err.Error(), "leave no time") {
			t.Fatalf("disjoint windows: %v", err)
		}
	})
	t.Run("caps that cannot be ordered are refused", func(t *testing.T) {
		t.Parallel()
		r := builtin()
		set := map[string]bool{}
		few := pack{caps: map[domain.Channel]Cap{domain.SMS: {Max: 2, Per: day}}}
		long := pack{caps: map[domain.Channel]Cap{domain.SMS: {Max: 5, Per: 7 * day}}}
		if err := few.apply(&r, "a", set); err != nil {
			t.Fatal(err)
		}
		if err := long.apply(&r, "b", set); err == nil || !strings.Contains(err.Error(), "compliance.caps.sms") {
			t.Fatalf("err = %v, want one naming compliance.caps.sms", err)
		}
	})
}

// TestPresetAlias: cn-nifa still works, as cn-gbt-2025, and says it is
// deprecated.
func TestPresetAlias(t *testing.T) {
	t.Parallel()
	sh := loc(t, "Asia/Shanghai")
	alias, gbt := presets(t, sh, PresetCNNIFA), presets(t, sh, PresetCNGBT)
	if len(alias.Deprecated) != 1 || !strings.Contains(alias.Deprecated[0], `"cn-nifa" is deprecated`) || !strings.Contains(alias.Deprecated[0], `"cn-gbt-2025"`) {
		t.Fatalf("Deprecated = %q", alias.Deprecated)
	}
	alias.Deprecated = nil
	if !rulesEqual(alias, gbt) {
		t.Fatalf("cn-nifa =\n%+v\nwant cn-gbt-2025's\n%+v", alias, gbt)
	}
	if to, ok := PresetAlias(PresetCNNIFA); !ok || to != PresetCNGBT {
		t.Fatalf("PresetAlias = %q %v", to, ok)
	}
	both := presets(t, sh, PresetCNNIFA, PresetCNGBT)
	if len(both.Presets) != 1 || both.Presets[0] != PresetCNGBT {
		t.Fatalf("Presets = %v, want cn-gbt-2025 once", both.Presets)
	}
	if len(gbt.Deprecated) != 0 {
		t.Fatalf("cn-gbt-2025 is not deprecated: %q", gbt.Deprecated)
	}
}

// rulesEqual compares rules field by field, DefaultZone by name.
func rulesEqual(a, b Rules) bool {
	za, zb := a.DefaultZone, b.DefaultZone
	a.DefaultZone, b.DefaultZone = nil, nil
	return za.String() == zb.String() && reflect.DeepEqual(a, b)
}

// TestPhoneZonesCacheIsBounded: numbers the data does not place leave
// nothing behind in the zone-list cache (the data hands out a new slice
// for them each time), so a flood of bad numbers cannot grow it.
func TestPhoneZonesCacheIsBounded(t *testing.T) {
	count := func() int {
		n := 0
		zoneLists.Range(func(any, any) bool { n++; return true })
		return n
	}
	PhoneZones("+99912345678")
	before := count()
	for i := range 100 {
		if z := PhoneZones("+999123456" + strconv.Itoa(10+i)); z != nil {
			t.Fatalf("an unplaced number has zones %v", z)
		}
	}
	if after := count(); after != before {
		t.Fatalf("the cache grew from %d to %d lists on unplaced numbers", before, after)
	}
}

// TestZoneMemoAnswersAsWorkedOut: the zones remembered for a number are
// the zones worked out for it, whatever was asked before (the same
// number with another stored or default zone, numbers that share a slot
// of the table).
func TestZoneMemoAnswersAsWorkedOut(t *testing.T) {
	ny, sh := loc(t, "America/New_York"), loc(t, "Asia/Shanghai")
	var asks [][3]any
	for i := range 3000 {
		phone := []string{"+1212555", "+1208555", "+86138", "+44207", "+999123", "+1809555"}[i%6] + strconv.Itoa(1000+i%1500)
		stored := []string{"", "America/Boise", "Asia/Shanghai", "Nowhere/Else"}[i%4]
		def := []*time.Location{nil, ny, sh}[i%3]
		asks = append(asks, [3]any{phone, stored, def})
	}
	for round := range 2 {
		for _, a := range asks {
			phone, stored, def := a[0].(string), a[1].(string), a[2].(*time.Location)
			got, want := zonesOf(phone, stored, def), workOutZones(phone, stored, def)
			if got.primary.String() != want.primary.String() || got.stored != want.stored || got.skip != want.skip || !slices.Equal(got.phone, want.phone) {
				t.Fatalf("round %d, %s %q %v: remembered %+v, worked out %+v", round, phone, stored, def, got, want)
			}
		}
	}
}
