package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// checked gives b's number a reassigned-number check at at (RFC 3339).
func checked(b Borrower, at string) Borrower {
	b.PhoneCheckedAt, b.PhoneCheck = at, domain.PhoneCheckReassigned
	return b
}

// presetConfig is tickConfig under presets and the built-in caps, the
// window open all day.
func presetConfig(period time.Duration, ch string, presets ...string) config.Config {
	cfg := tickConfig(period, ch)
	cfg.Compliance.Preset = presets
	cfg.Compliance.Caps = nil
	return cfg
}

// TestNumberCheckInTheDryRun: under us-regf an SMS goes only to a number
// confirmed in the last 60 days, as live: a borrower whose number was
// checked is texted; one never checked, or checked too long ago, is
// deferred by the number check and capped a week after the reminder was
// due; a consent to SMS or a check that arrives during the run releases
// the held SMS at its next return. Every hold names its rule and its
// article, as the live record does.
func TestNumberCheckInTheDryRun(t *testing.T) {
	t.Parallel()
	s := setupOf(t, presetConfig(0, "sms", compliance.PresetUSRegF))
	consents := person("consents", "UTC", "+12125550103", "2026-11-23")
	consents.Consents = []intake.ConsentData{{Channel: "sms", At: "2026-11-25T10:30:00Z"}}
	pop := Population{Borrowers: []Borrower{
		checked(person("checked", "UTC", "+12125550101", "2026-11-23"), "2026-11-01T09:00:00Z"),
		checked(person("stale", "UTC", "+12125550102", "2026-11-23"), "2026-09-01T09:00:00Z"),
		person("unchecked", "UTC", "+12125550104", "2026-11-23"),
		consents,
		checked(person("later", "UTC", "+12125550105", "2026-11-23"), "2026-11-24T15:20:00Z"),
	}}
	res := run(t, s, pop, date(t, "2026-11-23"), 9)
	for id, want := range map[string][]string{
		"checked": {"11-23 00:00 loan-checked/tick/0/sms sent"},
		"stale": {
			"11-23 00:00 loan-stale/tick/0/sms deferred number_check",
			"11-30 00:00 loan-stale/tick/0/sms capped number_check",
		},
		"unchecked": {
			"11-23 00:00 loan-unchecked/tick/0/sms deferred number_check",
			"11-30 00:00 loan-unchecked/tick/0/sms capped number_check",
		},
		"consents": {
			"11-23 00:00 loan-consents/tick/0/sms deferred number_check",
			"11-25 11:00 loan-consents/tick/0/sms sent",
		},
		"later": {
			"11-23 00:00 loan-later/tick/0/sms deferred number_check",
			"11-24 16:00 loan-later/tick/0/sms sent",
		},
	} {
		equal(t, id, entries(t, res, id, time.UTC), want)
	}
	for _, sc := range res.Schedules {
		for _, e := range sc.Entries {
			if e.Rule == compliance.RuleNumberCheck && !strings.HasPrefix(e.Reason, "number_check[us-regf 12 CFR 1006.6(d)(5)]: ") {
				t.Errorf("%s: reason %q, want the rule and its article first", e.ReminderID, e.Reason)
			}
		}
	}
	if got := res.Rules["deferred/number_check"]; got != 4 {
		t.Errorf("deferred by the number check: %d, want 4 (%v)", got, res.Rules)
	}
}

// TestPhoneKindInTheDryRun: under us-ma a text a day about one loan to a
// number the borrower gave as mobile goes twice in any 7 days (the 3rd is
// capped, the 8th day's goes again); to a work number twice in 30 days.
// Both numbers are +1, whose type the phone data cannot tell: only the
// kind the borrower gave tells them apart.
func TestPhoneKindInTheDryRun(t *testing.T) {
	t.Parallel()
	s := setupOf(t, presetConfig(24*time.Hour, "sms", compliance.PresetUSMA))
	mobile := person("mobile", "UTC", "+12125550111", "2026-11-23")
	mobile.PhoneKind = domain.PhoneMobile
	work := person("work", "UTC", "+12125550112", "2026-11-23")
	work.PhoneKind = domain.PhoneWork
	res := run(t, s, Population{Borrowers: []Borrower{mobile, work}}, date(t, "2026-11-23"), 10)
	statuses := func(id string) string {
		var out []string
		for _, line := range entries(t, res, id, time.UTC) {
			f := strings.Fields(line)
			out = append(out, f[1]+" "+strings.Join(f[3:], " "))
		}
		return strings.Join(out, ", ")
	}
	if got, want := statuses("mobile"), "00:00 sent, 00:00 sent, 00:00 capped phone_contacts, 00:00 capped phone_contacts, 00:00 capped phone_contacts, "+
		"00:00 capped phone_contacts, 00:00 capped phone_contacts, 00:00 sent, 00:00 sent, 00:00 capped phone_contacts"; got != want {
		t.Errorf("mobile number:\n got %s\nwant %s", got, want)
	}
	if got, want := statuses("work"), "00:00 sent, 00:00 sent"+strings.Repeat(", 00:00 capped phone_contacts", 8); got != want {
		t.Errorf("work number:\n got %s\nwant %s", got, want)
	}
	for _, sc := range res.Schedules {
		for _, e := range sc.Entries {
			if e.Status == StatusCapped && !strings.Contains(e.Reason, "to a "+map[string]string{"mobile": "mobile", "work": "work"}[sc.BorrowerID]+" number") {
				t.Errorf("%s: reason %q, want the kind of number named", e.ReminderID, e.Reason)
			}
		}
	}
}

// TestConsentWindowInTheDryRun: under us-regf (7 calls in 7 days per
// loan) the calls placed after the borrower's consent to calls are not
// counted while it is under 7 days old: two calls a day go out for the 7
// days after it; on the 8th day the consent has expired, every call of
// the last 7 days counts and the calls are capped. Without a consent the
// 8th call is capped.
func TestConsentWindowInTheDryRun(t *testing.T) {
	t.Parallel()
	s := setupOf(t, presetConfig(12*time.Hour, "voice", compliance.PresetUSRegF))
	consented := person("consented", "UTC", "+12125550121", "2026-11-23")
	consented.Consents = []intake.ConsentData{{Channel: "voice", At: "2026-11-22T23:00:00Z"}}
	none := person("none", "UTC", "+12125550122", "2026-11-23")
	res := run(t, s, Population{Borrowers: []Borrower{consented, none}}, date(t, "2026-11-23"), 9)
	perDay := func(id string) string {
		var days []string
		count := map[string]map[string]int{}
		for _, line := range entries(t, res, id, time.UTC) {
			f := strings.Fields(line)
			if count[f[0]] == nil {
				count[f[0]] = map[string]int{}
				days = append(days, f[0])
			}
			count[f[0]][f[3]]++
		}
		var out []string
		for _, d := range days {
			out = append(out, fmt.Sprintf("%s %ds %dc", d, count[d][StatusSent], count[d][StatusCapped]))
		}
		return strings.Join(out, ", ")
	}
	if got, want := perDay("consented"), "11-23 2s 0c, 11-24 2s 0c, 11-25 2s 0c, 11-26 2s 0c, 11-27 2s 0c, 11-28 2s 0c, 11-29 2s 0c, 11-30 0s 2c, 12-01 0s 2c"; got != want {
		t.Errorf("with a consent:\n got %s\nwant %s", got, want)
	}
	if got, want := perDay("none"), "11-23 2s 0c, 11-24 2s 0c, 11-25 2s 0c, 11-26 1s 1c, 11-27 0s 2c, 11-28 0s 2c, 11-29 0s 2c, 11-30 2s 0c, 12-01 2s 0c"; got != want {
		t.Errorf("without a consent:\n got %s\nwant %s", got, want)
	}
}

// TestPopulationPhoneFacts: a population's phone kind, number check and
// consents are read from JSON and from CSV columns, checked as intake
// checks them, and refused naming the field.
func TestPopulationPhoneFacts(t *testing.T) {
	t.Parallel()
	const header = "borrower_id,phone,loan_id,due_date,amount_due,currency,status,phone_kind,phone_checked_at,phone_check,consent_channel,consented_at\n"
	const line = "b1,+12125550100,L%d,2026-11-20,10.00,USD,overdue,%s\n"
	facts := "work,2026-11-01T00:00:00Z,reassigned_number_check,voice,2026-11-02T10:00:00Z"
	p, err := ParsePopulation([]byte(header + fmt.Sprintf(line, 1, facts) + fmt.Sprintf(line, 2, facts)))
	if err != nil {
		t.Fatal(err)
	}
	b := p.Borrowers[0]
	if b.PhoneKind != "work" || b.PhoneCheckedAt != "2026-11-01T00:00:00Z" || b.PhoneCheck != domain.PhoneCheckReassigned ||
		len(b.Consents) != 1 || b.Consents[0].Channel != "voice" || b.Consents[0].At != "2026-11-02T10:00:00Z" || len(b.Loans) != 2 {
		t.Errorf("CSV borrower %+v", b)
	}
	j, err := ParsePopulation([]byte(`{"borrowers":[{"borrower_id":"b1","phone":"+12125550100","phone_kind":"mobile",
		"phone_checked_at":"2026-11-01T00:00:00Z","phone_check":"consent","consents":[{"channel":"sms","at":"2026-11-03T00:00:00Z"}],
		"loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"USD","status":"overdue"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b := j.Borrowers[0]; b.PhoneKind != "mobile" || b.PhoneCheck != "consent" || len(b.Consents) != 1 || b.Consents[0].Channel != "sms" {
		t.Errorf("JSON borrower %+v", b)
	}

	jsonBorrower := func(fields string) string {
		return `{"borrowers":[{"borrower_id":"b1","phone":"+12125550100",` + fields +
			`,"loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"USD","status":"overdue"}]}]}`
	}
	for _, tt := range []struct {
		name, data string
		wantLine   int
		wantField  string
	}{
		{name: "CSV: unknown phone kind", data: header + fmt.Sprintf(line, 1, "pager,,,,"), wantLine: 2, wantField: "phone_kind"},
		{name: "CSV: check without how", data: header + fmt.Sprintf(line, 1, ",2026-11-01T00:00:00Z,,,"), wantLine: 2, wantField: "phone_check"},
		{name: "CSV: consent to email", data: header + fmt.Sprintf(line, 1, ",,,email,2026-11-02T10:00:00Z"), wantLine: 2, wantField: "consent_channel"},
		{name: "CSV: consent without a time", data: header + fmt.Sprintf(line, 1, ",,,voice,"), wantLine: 2, wantField: "consented_at"},
		{name: "CSV: consent at no time", data: header + fmt.Sprintf(line, 1, ",,,voice,soon"), wantLine: 2, wantField: "consented_at"},
		{name: "CSV: lines disagree on the kind", data: header + fmt.Sprintf(line, 1, "work,,,,") + fmt.Sprintf(line, 2, "mobile,,,,"), wantLine: 3, wantField: "phone_kind"},
		{name: "CSV: lines disagree on the consent", data: header + fmt.Sprintf(line, 1, ",,,voice,2026-11-02T10:00:00Z") + fmt.Sprintf(line, 2, ",,,,"), wantLine: 3, wantField: "consent_channel"},
		{name: "JSON: consent without a time", data: jsonBorrower(`"consents":[{"channel":"voice"}]`), wantField: "borrowers[0].consents[0].at"},
		{name: "JSON: consent of another borrower", data: jsonBorrower(`"consents":[{"borrower_id":"b2","channel":"voice","at":"2026-11-02T10:00:00Z"}]`), wantField: "borrowers[0].consents[0].borrower_id"},
		{name: "JSON: unknown key in a consent", data: jsonBorrower(`"consents":[{"channel":"voice","at":"2026-11-02T10:00:00Z","by":"phone"}]`), wantField: "borrowers[0].consents[0].by"},
		{name: "JSON: check of another kind", data: jsonBorrower(`"phone_checked_at":"2026-11-01T00:00:00Z","phone_check":"hunch"`), wantField: "borrowers[0].phone_check"},
	} {
		_, err := ParsePopulation([]byte(tt.data))
		var pe *PopulationError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a PopulationError", tt.name, err)
			continue
		}
		if pe.Line != tt.wantLine || pe.Field != tt.wantField {
			t.Errorf("%s: %q at line %d field %q, want line %d field %q", tt.name, pe.Error(), pe.Line, pe.Field, tt.wantLine, tt.wantField)
		}
	}
}

// TestGeneratedPhoneFacts: a generated population is valid as intake
// sees it, and carries phone kinds and number checks in the documented
// shares (give or take what 2,000 draws allow).
func TestGeneratedPhoneFacts(t *testing.T) {
	t.Parallel()
	start := date(t, "2026-12-01")
	g := Generated{N: 2000, Seed: 3, Start: start}
	var pop Population
	kinds := map[string]int{}
	recent, old := 0, 0
	for i := range g.N {
		b := g.Borrower(i)
		pop.Borrowers = append(pop.Borrowers, b)
		kinds[b.PhoneKind]++
		if b.PhoneCheckedAt == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339, b.PhoneCheckedAt)
		if err != nil || !at.Before(start) {
			t.Fatalf("borrower %d checked at %q, want a time before the start", i, b.PhoneCheckedAt)
		}
		if start.Sub(at) < 60*24*time.Hour {
			recent++
		} else {
			old++
		}
	}
	if err := pop.Validate(); err != nil {
		t.Fatal(err)
	}
	within := func(what string, got, wantPercent int) {
		t.Helper()
		if pct := got * 100 / g.N; pct < wantPercent-4 || pct > wantPercent+4 {
			t.Errorf("%s: %d%%, want about %d%%", what, pct, wantPercent)
		}
	}
	within("mobile", kinds[domain.PhoneMobile], 70)
	within("no kind given", kinds[""], 20)
	within("checked within 60 days", recent, 55)
	within("checked longer ago", old, 20)
}

// TestWorkersDoNotChangeTheResult: borrowers are simulated on as many
// workers as asked, each folding its borrowers into its own counts; the
// report is the same, byte for byte, on one worker and on several.
func TestWorkersDoNotChangeTheResult(t *testing.T) {
	t.Parallel()
	s, cfg := bundledSetup(t)
	preset := config.Compliance{Preset: config.Presets{compliance.PresetUSRegF, compliance.PresetUSMA}}
	variant, err := Variant{Name: "us", Compliance: &preset}.Apply(cfg, s.Templates)
	if err != nil {
		t.Fatal(err)
	}
	start := date(t, "2026-12-01")
	report := func(workers int) []byte {
		t.Helper()
		rep, err := Simulate(context.Background(), s, &variant, Generated{N: 600, Seed: 5, Start: start},
			Options{Start: start, Days: 60, Workers: workers, KeepFirst: 20, CallAnswered: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one := report(1)
	for _, n := range []int{2, 7} {
		if got := report(n); string(got) != string(one) {
			t.Errorf("%d workers: the report differs from one worker's (%d bytes against %d)", n, len(got), len(one))
		}
	}
}
