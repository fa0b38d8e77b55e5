package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func TestCheckCaps(t *testing.T) {
	t.Parallel()
	const sh = "Asia/Shanghai"
	std := compile(t, config.Compliance{}, nil) // sms 3/24h per borrower, voice 7/7d per loan
	borrowerVoice := compile(t, config.Compliance{Caps: map[string]config.Cap{"voice": {Max: 2, Per: config.Duration(24 * time.Hour), Scope: "borrower"}}}, nil)
	now := at(t, sh, "2026-05-05 12:00")
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	sms := func(d time.Duration, outcome string) Attempt { return attempt(domain.SMS, "L1", ago(d), outcome) }
	call := func(loan string, d time.Duration, outcome string) Attempt {
		return attempt(domain.Voice, loan, ago(d), outcome)
	}
	calls := func(loan string, n int, outcome string) []Attempt {
		var out []Attempt
		for i := range n {
			out = append(out, call(loan, time.Duration(n-i)*12*time.Hour, outcome))
		}
		return out
	}
	tests := []struct {
		name      string
		rules     Rules
		rem       domain.Reminder
		ledger    []Attempt
		wantOK    bool
		wantUntil time.Time
	}{
		{"sms: none", std, reminder(domain.SMS, "L1"), nil, true, time.Time{}},
		{"sms: limit-1", std, reminder(domain.SMS, "L1"), []Attempt{sms(20*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, true, time.Time{}},
		{"sms: at limit", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(20*time.Hour, OutcomeSent), sms(5*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, false, ago(20 * time.Hour).Add(24 * time.Hour)},
		{"sms: over limit frees with the right one", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(23*time.Hour, OutcomeSent), sms(20*time.Hour, OutcomeSent), sms(5*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, false, ago(20 * time.Hour).Add(24 * time.Hour)},
		{"sms: unsorted ledger", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(2*time.Hour, OutcomeSent), sms(20*time.Hour, OutcomeSent), sms(5*time.Hour, OutcomeSent)}, false, ago(20 * time.Hour).Add(24 * time.Hour)},
		{"sms: rolling, oldest just left", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(24*time.Hour, OutcomeSent), sms(5*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, true, time.Time{}},
		{"sms: rolling, oldest a second inside", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(24*time.Hour-time.Second, OutcomeSent), sms(5*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, false, now.Add(time.Second)},
		{"sms: failed and canceled do not count", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(5*time.Hour, OutcomeFailed), sms(4*time.Hour, OutcomeCanceled), sms(3*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomePending)}, true, time.Time{}},
		{"sms: pending counts", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(5*time.Hour, OutcomePending), sms(3*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, false, ago(5 * time.Hour).Add(24 * time.Hour)},
		{"sms: per borrower counts every loan", std, reminder(domain.SMS, "L2"),
			[]Attempt{sms(5*time.Hour, OutcomeSent), sms(3*time.Hour, OutcomeSent), sms(2*time.Hour, OutcomeSent)}, false, ago(5 * time.Hour).Add(24 * time.Hour)},
		{"sms: other channels do not count", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(5*time.Hour, OutcomeSent), call("L1", 3*time.Hour, OutcomeRang), attempt(domain.Email, "L1", ago(time.Hour), OutcomeSent)}, true, time.Time{}},
		{"sms: own attempt ignored", std, reminder(domain.SMS, "L1"),
			[]Attempt{sms(5*time.Hour, OutcomeSent), sms(3*time.Hour, OutcomeSent), {ID: reminder(domain.SMS, "L1").ID, Channel: domain.SMS, LoanID: "L1", At: ago(time.Minute), Outcome: OutcomePending}}, true, time.Time{}},
		{"email: no cap", std, reminder(domain.Email, "L1"),
			[]Attempt{attempt(domain.Email, "L1", ago(3*time.Hour), OutcomeSent), attempt(domain.Email, "L1", ago(2*time.Hour), OutcomeSent), attempt(domain.Email, "L1", ago(time.Hour), OutcomeSent), attempt(domain.Email, "L1", ago(time.Minute), OutcomeSent)}, true, time.Time{}},
		{"voice: 6 rang", std, reminder(domain.Voice, "L1"), calls("L1", 6, OutcomeRang), true, time.Time{}},
		{"voice: 7 rang", std, reminder(domain.Voice, "L1"), calls("L1", 7, OutcomeRang), false, ago(84 * time.Hour).Add(168 * time.Hour)},
		{"voice: 7 voicemail", std, reminder(domain.Voice, "L1"), calls("L1", 7, OutcomeVoicemail), false, ago(84 * time.Hour).Add(168 * time.Hour)},
		{"voice: 7 no-answer", std, reminder(domain.Voice, "L1"), calls("L1", 7, OutcomeNoAnswer), false, ago(84 * time.Hour).Add(168 * time.Hour)},
		{"voice: busy and failed do not count", std, reminder(domain.Voice, "L1"),
			append(append(calls("L1", 4, OutcomeBusy), calls("L1", 4, OutcomeFailed)...), calls("L1", 6, OutcomeRang)...), true, time.Time{}},
		{"voice: per loan, other loan free", std, reminder(domain.Voice, "L2"), calls("L1", 7, OutcomeRang), true, time.Time{}},
		{"voice: per loan, mixed", std, reminder(domain.Voice, "L2"), append(calls("L1", 7, OutcomeRang), calls("L2", 7, OutcomeRang)...), false, ago(84 * time.Hour).Add(168 * time.Hour)},
		{"voice: scope borrower counts every loan", borrowerVoice, reminder(domain.Voice, "L3"),
			[]Attempt{call("L1", 3*time.Hour, OutcomeRang), call("L2", 2*time.Hour, OutcomeRang)}, false, ago(3 * time.Hour).Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := tt.rules.Check(now, tt.rem, borrower(sh, "+86 138 0013 8000"), Ledger{Attempts: tt.ledger})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if tt.wantOK {
				return
			}
			if d.Status != domain.Capped || d.Rule != RuleCap || !d.Until.Equal(tt.wantUntil) {
				t.Fatalf("got %s/%s until %s, want capped/cap until %s (%s)", d.Status, d.Rule, d.Until, tt.wantUntil, d.Reason)
			}
			if !strings.HasPrefix(d.Reason, "cap[") {
				t.Errorf("reason %q does not start with the rule", d.Reason)
			}
			for _, s := range []string{"]: " + string(tt.rem.Channel), "frees at " + tt.wantUntil.In(loc(t, sh)).Format(time.RFC3339)} {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
}

func TestCheckCapBeatsWindow(t *testing.T) {
	t.Parallel()
	rules := compile(t, config.Compliance{}, nil)
	now := at(t, "Asia/Shanghai", "2026-05-05 23:00") // outside the window
	l := Ledger{}
	for i := range 3 {
		l.Attempts = append(l.Attempts, attempt(domain.SMS, "L1", now.Add(-time.Duration(3-i)*time.Hour), OutcomeSent))
	}
	d := rules.Check(now, reminder(domain.SMS, "L1"), borrower("Asia/Shanghai", ""), l)
	if d.Status != domain.Capped || d.Rule != RuleCap {
		t.Fatalf("got %s/%s, want capped/cap: a capped reminder is not retried (%s)", d.Status, d.Rule, d.Reason)
	}
}

func TestCheckConversation(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	std := compile(t, config.Compliance{Preset: config.Presets{PresetUSRegF}}, nil)
	off := compile(t, config.Compliance{Preset: config.Presets{PresetUSRegF}, AfterConversation: durp(0)}, nil)
	short := compile(t, config.Compliance{AfterConversation: durp(48 * time.Hour)}, nil)
	now := at(t, ny, "2026-05-05 12:00")
	talked := func(loan string, ago time.Duration) Attempt {
		return attempt(domain.Voice, loan, now.Add(-ago), OutcomeConnected)
	}
	day := 24 * time.Hour
	tests := []struct {
		name      string
		rules     Rules
		rem       domain.Reminder
		ledger    []Attempt
		wantOK    bool
		wantUntil time.Time
	}{
		{"blocks calls about that loan", std, reminder(domain.Voice, "L1"), []Attempt{talked("L1", 3*day)}, false, now.Add(4 * day)},
		{"latest conversation decides", std, reminder(domain.Voice, "L1"), []Attempt{talked("L1", 6*day), talked("L1", day)}, false, now.Add(6 * day)},
		{"not calls about another loan", std, reminder(domain.Voice, "L2"), []Attempt{talked("L1", 3*day)}, true, time.Time{}},
		{"not sms about that loan", std, reminder(domain.SMS, "L1"), []Attempt{talked("L1", 3*day)}, true, time.Time{}}, // (the borrower's number was checked)
		{"a second before 7 days", std, reminder(domain.Voice, "L1"), []Attempt{talked("L1", 7*day-time.Second)}, false, now.Add(time.Second)},
		{"ends after 7 days", std, reminder(domain.Voice, "L1"), []Attempt{talked("L1", 7*day)}, true, time.Time{}},
		{"rang is not a conversation", std, reminder(domain.Voice, "L1"), []Attempt{attempt(domain.Voice, "L1", now.Add(-time.Hour), OutcomeRang)}, true, time.Time{}},
		{"after_conversation 0 disables", off, reminder(domain.Voice, "L1"), []Attempt{talked("L1", time.Hour)}, true, time.Time{}},
		{"after_conversation 48h", short, reminder(domain.Voice, "L1"), []Attempt{talked("L1", 3*day)}, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := borrower(ny, "+1 212 555 0100")
			checked := now.Add(-day)
			b.PhoneCheckedAt, b.PhoneCheck = &checked, domain.PhoneCheckReassigned
			d := tt.rules.Check(now, tt.rem, b, Ledger{Attempts: tt.ledger})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if tt.wantOK {
				return
			}
			if d.Status != domain.Capped || d.Rule != RuleConversation || !d.Until.Equal(tt.wantUntil) {
				t.Fatalf("got %s/%s until %s, want capped/conversation until %s", d.Status, d.Rule, d.Until, tt.wantUntil)
			}
			for _, s := range []string{"conversation[us-regf 12 CFR 1006.14(b)(2)(ii)]: ", "loan L1", "7d", "until " + tt.wantUntil.In(loc(t, ny)).Format(time.RFC3339)} {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
}

func TestCheckConnectedPerDay(t *testing.T) {
	t.Parallel()
	const sh = "Asia/Shanghai"
	// cn-nifa: at most 3 connected calls a day; conversations would block
	// the loan for 7 days, so use a different loan for each call and turn
	// the conversation rule off to see this rule alone.
	rules := compile(t, config.Compliance{Preset: config.Presets{PresetCNNIFA}, AfterConversation: durp(0)}, nil)
	now := at(t, sh, "2026-05-05 15:00")
	talked := func(loan, when string) Attempt {
		return attempt(domain.Voice, loan, at(t, sh, when), OutcomeConnected)
	}
	tests := []struct {
		name   string
		ledger []Attempt
		wantOK bool
	}{
		{"two today", []Attempt{talked("L1", "2026-05-05 09:00"), talked("L2", "2026-05-05 10:00")}, true},
		{"three today", []Attempt{talked("L1", "2026-05-05 09:00"), talked("L2", "2026-05-05 10:00"), talked("L3", "2026-05-05 14:59")}, false},
		{"three, one yesterday late", []Attempt{talked("L1", "2026-05-04 23:59"), talked("L2", "2026-05-05 10:00"), talked("L3", "2026-05-05 14:59")}, true},
		{"three today, rang ones do not matter", []Attempt{talked("L1", "2026-05-05 00:00"), talked("L2", "2026-05-05 10:00"), attempt(domain.Voice, "L3", at(t, sh, "2026-05-05 11:00"), OutcomeRang)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := rules.Check(now, reminder(domain.Voice, "L9"), borrower("", ""), Ledger{Attempts: tt.ledger})
			if d.Allowed != tt.wantOK {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.wantOK, d.Reason)
			}
			if tt.wantOK {
				return
			}
			want := at(t, sh, "2026-05-06 00:00")
			if d.Status != domain.Capped || d.Rule != RuleConnectedPerDay || !d.Until.Equal(want) {
				t.Fatalf("got %s/%s until %s, want capped/connected_per_day until %s", d.Status, d.Rule, d.Until, want)
			}
			for _, s := range []string{"connected_per_day[cn-gbt-2025 风控指引, forbear's reading: voice conversations a day]: 3 connected calls on 2026-05-05 (Asia/Shanghai)", "at most 3 a day", want.Format(time.RFC3339)} {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
		})
	}
	t.Run("sms unaffected", func(t *testing.T) {
		t.Parallel()
		l := Ledger{Attempts: []Attempt{talked("L1", "2026-05-05 09:00"), talked("L2", "2026-05-05 10:00"), talked("L3", "2026-05-05 11:00")}}
		if d := rules.Check(now, reminder(domain.SMS, "L9"), borrower("", ""), l); !d.Allowed {
			t.Fatalf("sms: %+v", d)
		}
	})
}

func TestLedgerPrune(t *testing.T) {
	t.Parallel()
	now := utc(t, "2026-05-05T12:00:00Z")
	a := func(h int) Attempt {
		return attempt(domain.SMS, "L1", now.Add(-time.Duration(h)*time.Hour), OutcomeSent)
	}
	tests := []struct {
		name string
		in   []Attempt
		want []time.Duration // ages kept
	}{
		{"empty", nil, nil},
		{"all kept", []Attempt{a(3), a(2)}, []time.Duration{3 * time.Hour, 2 * time.Hour}},
		{"old dropped", []Attempt{a(30), a(25), a(24), a(1)}, []time.Duration{24 * time.Hour, time.Hour}},
		{"out of order", []Attempt{a(30), a(1), a(40), a(2)}, []time.Duration{time.Hour, 2 * time.Hour}},
		{"all dropped", []Attempt{a(30), a(25)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Ledger{Attempts: tt.in}.Prune(now, 24*time.Hour).Attempts
			if len(got) != len(tt.want) {
				t.Fatalf("kept %d attempts, want %d", len(got), len(tt.want))
			}
			for i, age := range tt.want {
				if !got[i].At.Equal(now.Add(-age)) {
					t.Errorf("attempt %d at %s, want %s", i, got[i].At, now.Add(-age))
				}
			}
		})
	}
}

// TestPruneKeepsDecisions: pruning with Rules.Keep never changes a
// decision.
func TestPruneKeepsDecisions(t *testing.T) {
	t.Parallel()
	rules := compile(t, config.Compliance{Preset: config.Presets{PresetCNNIFA}}, nil)
	now := at(t, "Asia/Shanghai", "2026-05-05 12:00")
	var l Ledger
	for i := range 40 {
		ch := []domain.Channel{domain.SMS, domain.Voice}[i%2]
		outcome := []string{OutcomeSent, OutcomeRang, OutcomeConnected, OutcomeBusy}[i%4]
		l.Attempts = append(l.Attempts, attempt(ch, []string{"L1", "L2", "L3"}[i%3], now.Add(-time.Duration(40-i)*7*time.Hour), outcome))
	}
	pruned := l.Prune(now, rules.Keep())
	if len(pruned.Attempts) >= len(l.Attempts) {
		t.Fatalf("nothing pruned")
	}
	for _, ch := range []domain.Channel{domain.SMS, domain.Voice} {
		for _, loan := range []string{"L1", "L2", "L3", "L4"} {
			for h := range 48 {
				t0 := now.Add(time.Duration(h) * time.Hour)
				b := borrower("", "+86 138 0013 8000")
				if full, short := rules.Check(t0, reminder(ch, loan), b, l), rules.Check(t0, reminder(ch, loan), b, pruned.Prune(t0, rules.Keep())); full != short {
					t.Fatalf("%s %s at %s: full %+v, pruned %+v", ch, loan, t0, full, short)
				}
			}
		}
	}
}
