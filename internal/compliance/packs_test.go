package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

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
