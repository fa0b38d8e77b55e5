package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// benchSetup is a typical send-path call: a borrower with a stored zone
// and a phone in another zone, a work-hours blackout, and about ten recent
// attempts over two loans.
func benchSetup(b testing.TB) (Rules, time.Time, domain.Borrower, Ledger) {
	rules := compile(b, config.Compliance{Preset: config.Presets{PresetUSRegF}}, loc(b, "America/New_York"))
	now := utc(b, "2026-07-10T18:00:00Z") // 14:00 New York, 11:00 Los Angeles
	// Stored numbers are E.164 (intake refuses anything else), which the
	// zone look-up reads without copying.
	bw := borrower("America/Los_Angeles", "+12125550100", domain.Blackout{Start: "22:00", End: "07:00", Channels: []domain.Channel{domain.Voice}})
	var l Ledger
	for i := range 10 {
		ch := []domain.Channel{domain.SMS, domain.Voice}[i%2]
		outcome := []string{OutcomeSent, OutcomeRang, OutcomeBusy, OutcomeVoicemail, OutcomeNoAnswer}[i%5]
		l.Attempts = append(l.Attempts, attempt(ch, []string{"L1", "L2"}[i%2], now.Add(-time.Duration(10-i)*15*time.Hour), outcome))
	}
	return rules, now, bw, l
}

func BenchmarkCheck(b *testing.B) {
	rules, now, bw, l := benchSetup(b)
	b.Run("allowed", func(b *testing.B) {
		rem := reminder(domain.Voice, "L3")
		if d := rules.Check(now, rem, bw, l); !d.Allowed {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(now, rem, bw, l)
		}
	})
	b.Run("deferred", func(b *testing.B) {
		rem := reminder(domain.Voice, "L3")
		late := now.Add(9 * time.Hour) // 23:00 New York
		if d := rules.Check(late, rem, bw, l); d.Status != domain.Deferred {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(late, rem, bw, l)
		}
	})
	b.Run("capped", func(b *testing.B) {
		rem := reminder(domain.SMS, "L1")
		l := l
		l.Attempts = append(l.Attempts[:len(l.Attempts):len(l.Attempts)],
			attempt(domain.SMS, "L1", now.Add(-5*time.Hour), OutcomeSent), attempt(domain.SMS, "L1", now.Add(-time.Hour), OutcomeSent), attempt(domain.SMS, "L1", now.Add(-time.Minute), OutcomeSent))
		if d := rules.Check(now, rem, bw, l); d.Status != domain.Capped {
			b.Fatalf("setup: %+v", d)
		}
		b.ReportAllocs()
		for b.Loop() {
			rules.Check(now, rem, bw, l)
		}
	})
}

// TestCheckAllowedDoesNotAllocate keeps the send path allocation-free.
func TestCheckAllowedDoesNotAllocate(t *testing.T) {
	rules, now, bw, l := benchSetup(t)
	rem := reminder(domain.Voice, "L3")
	if d := rules.Check(now, rem, bw, l); !d.Allowed {
		t.Fatalf("setup: %+v", d)
	}
	if n := testing.AllocsPerRun(200, func() { rules.Check(now, rem, bw, l) }); n != 0 {
		t.Fatalf("Check allocates %.0f times on the allowed path, want 0", n)
	}
}

// reasonCases are decisions by every rule that words a reason: each
// window and blackout outcome, each cap, the consent note, the number
// check held and capped, and the zones' fallback.
func reasonCases(t testing.TB) []struct {
	name  string
	rules Rules
	now   time.Time
	rem   domain.Reminder
	b     domain.Borrower
	l     Ledger
} {
	t.Helper()
	ny := loc(t, "America/New_York")
	regf := compile(t, config.Compliance{Preset: config.Presets{PresetUSRegF, PresetUSMA}}, ny)
	gbt := compile(t, config.Compliance{Preset: config.Presets{PresetCNGBT}}, nil)
	cba := compile(t, config.Compliance{Preset: config.Presets{PresetCNCBA}}, nil)
	std := compile(t, config.Compliance{}, ny)
	noon := utc(t, "2026-07-10T16:00:00Z") // 12:00 New York
	night := utc(t, "2026-07-11T03:00:00Z")
	checked := func(b domain.Borrower) domain.Borrower {
		at := noon.Add(-24 * time.Hour)
		b.PhoneCheckedAt, b.PhoneCheck = &at, domain.PhoneCheckReassigned
		return b
	}
	nyb := checked(borrower("America/New_York", "+12125550100"))
	stale := borrower("America/New_York", "+12125550100")
	old := noon.Add(-90 * 24 * time.Hour)
	stale.PhoneCheckedAt, stale.PhoneCheck = &old, domain.PhoneCheckConsent
	mobile := nyb
	mobile.PhoneKind = domain.PhoneMobile
	consented := nyb
	consented.Consents = []domain.Consent{{Channel: domain.Voice, At: noon.Add(-50 * time.Hour)}}
	blackout := checked(borrower("America/New_York", "+12125550100", domain.Blackout{Start: "11:00", End: "13:00"}))
	allDay := checked(borrower("America/New_York", "+12125550100", domain.Blackout{Start: "00:00", End: "23:59"}, domain.Blackout{Start: "23:59", End: "00:00"}))
	abroad := checked(borrower("Asia/Shanghai", "+12125550100"))
	unplaced := checked(borrower("Asia/Tokyo", "+18095550100")) // +1 809: the Dominican Republic, far from Tokyo
	var calls, sevenCalls, connected, perDebt Ledger
	for i := range 8 {
		calls.Attempts = append(calls.Attempts, attempt(domain.Voice, "L1", noon.Add(-time.Duration(8-i)*time.Hour), OutcomeNoAnswer))
	}
	for i := range 7 {
		sevenCalls.Attempts = append(sevenCalls.Attempts, attempt(domain.Voice, "L1", noon.Add(-time.Duration(48-i*6)*time.Hour), OutcomeNoAnswer))
	}
	for i := range 3 {
		connected.Attempts = append(connected.Attempts, attempt(domain.Voice, []string{"L2", "L3", "L4"}[i], at(t, "Asia/Shanghai", "2026-07-10 09:00").Add(time.Duration(i)*time.Hour), OutcomeConnected))
	}
	for i := range 2 {
		perDebt.Attempts = append(perDebt.Attempts, attempt(domain.SMS, "L1", noon.Add(-time.Duration(2-i)*24*time.Hour), OutcomeSent))
	}
	conversation := Ledger{Attempts: []Attempt{attempt(domain.Voice, "L1", noon.Add(-48*time.Hour), OutcomeConnected)}}
	sh := at(t, "Asia/Shanghai", "2026-07-10 15:00")
	return []struct {
		name  string
		rules Rules
		now   time.Time
		rem   domain.Reminder
		b     domain.Borrower
		l     Ledger
	}{
		{"allowed", regf, noon, reminder(domain.SMS, "L1"), nyb, Ledger{}},
		{"window", regf, night, reminder(domain.SMS, "L1"), nyb, Ledger{}},
		{"window in two zones", regf, noon.Add(-3 * time.Hour), reminder(domain.Email, "L1"), abroad, Ledger{}},
		{"zones share no time", std, noon, reminder(domain.Email, "L1"), abroad, Ledger{}},
		{"zones share no time, inside the primary", std, utc(t, "2026-07-10T02:00:00Z"), reminder(domain.Email, "L1"), abroad, Ledger{}},
		{"number placed only by its country", std, noon, reminder(domain.Email, "L1"), unplaced, Ledger{}},
		{"blackout", regf, noon, reminder(domain.Email, "L1"), blackout, Ledger{}},
		{"blackouts leave no time", regf, noon, reminder(domain.Email, "L1"), allDay, Ledger{}},
		{"cap", regf, noon, reminder(domain.Voice, "L1"), nyb, sevenCalls},
		{"cap, consent noted", regf, noon, reminder(domain.Voice, "L1"), consented, sevenCalls},
		{"conversation", regf, noon, reminder(domain.Voice, "L1"), nyb, conversation},
		{"connected per day", gbt, sh, reminder(domain.Voice, "L1"), borrower("Asia/Shanghai", "+8613800000001"), connected},
		{"calls per day", cba, sh, reminder(domain.Voice, "L1"), borrower("Asia/Shanghai", "+8613800000001"), Ledger{Attempts: calls.Attempts[:6]}},
		{"contacts per debt", regf, noon, reminder(domain.SMS, "L1"), mobile, perDebt},
		{"contacts per debt, the kind from the number", regf, noon, reminder(domain.SMS, "L1"), nyb, perDebt},
		{"number never checked", regf, noon, reminder(domain.SMS, "L1"), borrower("America/New_York", "+12125550100"), Ledger{}},
		{"number checked too long ago", regf, noon, reminder(domain.SMS, "L1"), stale, Ledger{}},
		{"number check too late", regf, noon, func() domain.Reminder {
			r := reminder(domain.SMS, "L1")
			r.DueAt = noon.Add(-8 * 24 * time.Hour)
			return r
		}(), stale, Ledger{}},
	}
}

// TestCheckWithoutReasonDecidesAlike: CheckWithoutReason gives every
// decision Check gives, rule, source and until included, only without the
// reason; and Check words a reason for every hold.
func TestCheckWithoutReasonDecidesAlike(t *testing.T) {
	t.Parallel()
	rules := map[string]bool{}
	for _, tt := range reasonCases(t) {
		full := tt.rules.Check(tt.now, tt.rem, tt.b, tt.l)
		bare := tt.rules.CheckWithoutReason(tt.now, tt.rem, tt.b, tt.l)
		if !full.Allowed && !strings.HasPrefix(full.Reason, full.Rule+"[") {
			t.Errorf("%s: Check's reason %q, want it to start with the rule", tt.name, full.Reason)
		}
		if bare.Reason != "" {
			t.Errorf("%s: CheckWithoutReason worded %q", tt.name, bare.Reason)
		}
		full.Reason = ""
		if full != bare {
			t.Errorf("%s:\n Check              %+v\n CheckWithoutReason %+v", tt.name, full, bare)
		}
		rules[string(full.Status)+"/"+full.Rule] = true
	}
	for _, want := range []string{"/", "deferred/send_window", "deferred/blackout", "capped/blackout", "capped/cap", "capped/conversation",
		"capped/connected_per_day", "capped/calls_per_day", "capped/phone_contacts", "deferred/number_check", "capped/number_check"} {
		if !rules[want] {
			t.Errorf("no case decided %q: the cases miss a rule (%v)", want, rules)
		}
	}
}

// TestCheckWithoutReasonDoesNotAllocate: what the dry run decides for the
// borrowers whose schedules it does not keep costs no allocation, held or
// not: the reasons are what allocate, and it words none. (A number whose
// kind the borrower did not give is parsed for its type when a contact
// cap by kind is reached, and only then.)
func TestCheckWithoutReasonDoesNotAllocate(t *testing.T) {
	for _, tt := range reasonCases(t) {
		if tt.b.PhoneKind == "" && tt.rules.PhoneContacts.on() && tt.rules.Check(tt.now, tt.rem, tt.b, tt.l).Rule == RulePhoneContacts {
			continue // a cap reached reads the number's type: a parse, which allocates
		}
		if n := testing.AllocsPerRun(50, func() { tt.rules.CheckWithoutReason(tt.now, tt.rem, tt.b, tt.l) }); n != 0 {
			t.Errorf("%s: CheckWithoutReason allocates %.0f times, want 0", tt.name, n)
		}
	}
}
