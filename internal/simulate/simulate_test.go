package simulate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

// tickTemplates is one template, "tick", on every channel.
func tickTemplates(t testing.TB) *templates.Set {
	t.Helper()
	def, err := templates.ParseYAML([]byte(`category: collection
channels:
  sms: {en-US: "Hi {{.Borrower.Name}}, loan {{.Loan.ID}} is overdue. Reply STOP to opt out."}
  voice: {en-US: "Hello {{.Borrower.Name}}."}
  email: {en-US: {subject: "Loan {{.Loan.ID}}", body: "Please repay. Reply STOP to opt out."}}
  inapp: {en-US: {title: "Loan {{.Loan.ID}}", body: "Please repay."}}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := templates.NewSet(map[string]templates.Definition{"tick": def})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// tickConfig is a configuration with one collection policy "tick" that
// sends on chans at the due date's midnight, then every period (once
// when 0), in UTC, with no contact rules unless a test sets them.
func tickConfig(period time.Duration, chans ...string) config.Config {
	cfg := config.Default()
	cfg.Scheduler.Timezone = "UTC"
	cfg.Agreements.Policy = ""
	step := config.Step{ID: "tick", Channels: chans, Template: "tick"}
	if period > 0 {
		every := config.Duration(period)
		step.Every = &every
	}
	cfg.Policies = []config.Policy{{ID: "tick", Category: "collection", Steps: []config.Step{step}}}
	cfg.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"}
	cfg.Compliance.Caps = map[string]config.Cap{}
	return cfg
}

func setupOf(t testing.TB, cfg config.Config) Setup {
	t.Helper()
	s, err := NewSetup("live", cfg, tickTemplates(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// person is a borrower with one overdue loan due on due, policy "tick".
func person(id, zone, phone, due string) Borrower {
	return Borrower{
		BorrowerData: intake.BorrowerData{BorrowerID: id, Name: "Borrower " + id, Locale: "en-US", Timezone: zone, Phone: phone, Email: id + "@example.com"},
		Loans: []Loan{{LoanData: intake.LoanData{BorrowerID: id, LoanID: "loan-" + id, DueDate: due, AmountDue: "100.00",
			Currency: "USD", Status: domain.LoanOverdue, Policy: "tick"}}},
	}
}

func run(t *testing.T, s Setup, pop Population, start time.Time, days int) *Result {
	t.Helper()
	if err := pop.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, pop, Options{Start: start, Days: days, KeepFirst: MaxKeep})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// entries lists a kept borrower's schedule as "15:04 reminder status rule"
// lines.
func entries(t *testing.T, res *Result, id string, zone *time.Location) []string {
	t.Helper()
	for _, s := range res.Schedules {
		if s.BorrowerID == id {
			var out []string
			for _, e := range s.Entries {
				out = append(out, strings.TrimSpace(e.At.In(zone).Format("01-02 15:04")+" "+e.ReminderID+" "+e.Status+" "+e.Rule))
			}
			return out
		}
	}
	t.Fatalf("no schedule of %s", id)
	return nil
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestNightIsDeferredToTheMorning: an SMS due at midnight in Shanghai
// waits for 08:00 (decided again every max_defer, which changes nothing)
// and goes out then; the day counts it deferred once, until 08:00.
func TestNightIsDeferredToTheMorning(t *testing.T) {
	t.Parallel()
	cfg := tickConfig(0, "sms")
	cfg.Scheduler.Timezone = "Asia/Shanghai"
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	s := setupOf(t, cfg)
	sh := s.Zone
	res := run(t, s, Population{Borrowers: []Borrower{person("night", "Asia/Shanghai", "+8613800000099", "2026-11-24")}},
		time.Date(2026, 11, 23, 0, 0, 0, 0, sh), 3)
	equal(t, "schedule", entries(t, res, "night", sh), []string{
		"11-24 00:00 loan-night/tick/0/sms deferred send_window",
		"11-24 08:00 loan-night/tick/0/sms sent",
	})
	day := res.PerDay[1].Channels[domain.SMS]
	if day.Deferred != 1 || day.Sent != 1 || day.DeferredUntil["08:00"] != 1 || day.SentByHour[8] != 1 {
		t.Errorf("day counts %+v, want one deferred until 08:00 and one sent at 08:00", day)
	}
	if day.Segments != 1 || res.Segments != 1 {
		t.Errorf("segments %d (run %d), want 1", day.Segments, res.Segments)
	}
}

// TestCapAllowsExactlyN: an SMS every hour under a cap of 3 a day: 3 go
// out, the rest are capped, naming the cap, and the cap frees a day later.
func TestCapAllowsExactlyN(t *testing.T) {
	t.Parallel()
	cfg := tickConfig(time.Hour, "sms")
	cfg.Compliance.Caps = map[string]config.Cap{"sms": {Max: 3, Per: config.Duration(24 * time.Hour)}}
	s := setupOf(t, cfg)
	res := run(t, s, Population{Borrowers: []Borrower{person("capped", "UTC", "+15550000001", "2026-11-23")}}, date(t, "2026-11-23"), 2)
	for d, want := range []struct{ sent, capped int }{{3, 21}, {3, 21}} {
		got := res.PerDay[d].Channels[domain.SMS]
		if got.Sent != want.sent || got.Capped != want.capped || got.Rules["capped/cap"] != want.capped {
			t.Errorf("day %d: %+v, want %d sent and %d capped by the cap", d, got, want.sent, want.capped)
		}
	}
}

// TestAgreementStopsCollection: from the day an agreement starts, the
// loan's collection reminders are withheld by the sweep; a call deferred
// before it and decided after is suppressed at the fence; the agreement's
// own plan goes out.
func TestAgreementStopsCollection(t *testing.T) {
	t.Parallel()
	cfg := tickConfig(6*time.Hour, "sms", "voice")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Policies = append(cfg.Policies, config.Policy{ID: "plan", Category: "agreement", Anchor: "installment",
		Steps: []config.Step{{ID: "before", At: config.Duration(-12 * time.Hour), Channels: []string{"sms"}, Template: "tick"}}})
	cfg.Agreements.Policy = "plan"
	s := setupOf(t, cfg)
	b := person("agr", "UTC", "+15550000002", "2026-11-23")
	b.Agreements = []Agreement{{AgreementData: intake.AgreementData{AgreementID: "A1", Kind: "installment", LoanIDs: []string{"loan-agr"},
		Installments: []domain.Installment{{DueDate: "2026-11-26", Amount: "50.00"}}}, ActivatedOn: "2026-11-24"}}
	res := run(t, s, Population{Borrowers: []Borrower{b}}, date(t, "2026-11-23"), 3)
	equal(t, "schedule", entries(t, res, "agr", time.UTC), []string{
		"11-23 00:00 loan-agr/tick/0/sms deferred send_window",
		"11-23 00:00 loan-agr/tick/0/voice deferred send_window",
		"11-23 06:00 loan-agr/tick/1/sms deferred send_window",
		"11-23 06:00 loan-agr/tick/1/voice deferred send_window",
		"11-23 08:00 loan-agr/tick/0/sms sent",
		"11-23 08:00 loan-agr/tick/0/voice sent",
		"11-23 08:00 loan-agr/tick/1/sms sent",
		"11-23 08:00 loan-agr/tick/1/voice sent",
		"11-23 12:00 loan-agr/tick/2/sms sent",
		"11-23 12:00 loan-agr/tick/2/voice sent",
		"11-23 18:00 loan-agr/tick/3/sms sent",
		"11-23 18:00 loan-agr/tick/3/voice sent",
		"11-24 00:00 loan-agr/tick/4/sms withheld agreement",
		"11-24 00:00 loan-agr/tick/4/voice withheld agreement",
		"11-24 06:00 loan-agr/tick/5/sms withheld agreement",
		"11-24 06:00 loan-agr/tick/5/voice withheld agreement",
		"11-24 12:00 loan-agr/tick/6/sms withheld agreement",
		"11-24 12:00 loan-agr/tick/6/voice withheld agreement",
		"11-24 18:00 loan-agr/tick/7/sms withheld agreement",
		"11-24 18:00 loan-agr/tick/7/voice withheld agreement",
		"11-25 00:00 loan-agr/tick/8/sms withheld agreement",
		"11-25 00:00 loan-agr/tick/8/voice withheld agreement",
		"11-25 06:00 loan-agr/tick/9/sms withheld agreement",
		"11-25 06:00 loan-agr/tick/9/voice withheld agreement",
		"11-25 12:00 loan-agr/tick/10/sms withheld agreement",
		"11-25 12:00 loan-agr/tick/10/voice withheld agreement",
		"11-25 12:00 A1/before/1-0/sms sent",
		"11-25 18:00 loan-agr/tick/11/sms withheld agreement",
		"11-25 18:00 loan-agr/tick/11/voice withheld agreement",
	})
	if got := res.Rules["withheld/agreement"]; got != 16 {
		t.Errorf("withheld by the agreement: %d, want 16", got)
	}
}

// TestDeferredThenSuppressed: a reminder deferred at night is parked; a
// payment meanwhile brings it back at its next return (every max_defer
// from its deferral), where the worker finds the case closed.
func TestDeferredThenSuppressed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		maxDefer time.Duration
		want     string
	}{
		{time.Hour, "11-23 06:00 loan-ny/tick/0/sms suppressed case_closed"},
		{150 * time.Minute, "11-23 07:00 loan-ny/tick/0/sms suppressed case_closed"},
	} {
		cfg := tickConfig(0, "sms")
		cfg.Policies[0].Steps[0].At = config.Duration(-3 * time.Hour) // 21:00 the evening before, New York
		cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
		cfg.Dispatcher.MaxDefer = config.Duration(tt.maxDefer)
		ny := person("ny", "America/New_York", "+12125550100", "2026-11-23")
		ny.Loans[0].PaidOn = "2026-11-23" // 05:00 UTC, before New York's morning
		res := run(t, setupOf(t, cfg), Population{Borrowers: []Borrower{ny}}, date(t, "2026-11-22"), 3)
		equal(t, "max_defer "+tt.maxDefer.String(), entries(t, res, "ny", time.UTC), []string{
			"11-23 02:00 loan-ny/tick/0/sms deferred send_window",
			tt.want,
		})
	}
}

// TestCompareVariants: the same population under a narrower window and a
// cap: the comparison names the days and the rules that differ.
func TestCompareVariants(t *testing.T) {
	t.Parallel()
	cfg := tickConfig(4*time.Hour, "sms")
	base := setupOf(t, cfg)
	preset := config.Compliance{Preset: config.Presets{"us-regf"}, Caps: map[string]config.Cap{"sms": {Max: 2, Per: config.Duration(24 * time.Hour)}}}
	variant, err := Variant{Name: "strict", Compliance: &preset}.Apply(cfg, tickTemplates(t))
	if err != nil {
		t.Fatal(err)
	}
	// Numbers checked a week before: the preset's number check lets their
	// SMS go (TestNumberCheckInTheDryRun holds the others).
	var pop Population
	for i, zone := range []string{"UTC", "America/New_York", "Asia/Shanghai"} {
		pop.Borrowers = append(pop.Borrowers, checked(person("b"+itoa(i), zone, "+4420794600"+itoa(10+i), "2026-11-23"), "2026-11-16T12:00:00Z"))
	}
	rep, err := Simulate(context.Background(), base, &variant, pop, Options{Start: date(t, "2026-11-23"), Days: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := rep.Run, rep.Variant, rep.Comparison
	// Every 4 hours from each borrower's midnight over two UTC days: 12
	// in UTC and Shanghai, 11 in New York (its first is at 05:00 UTC).
	if a.Totals[StatusSent] != 35 || a.Totals[StatusCapped] != 0 {
		t.Fatalf("base: %v, want every one of 35 sent", a.Totals)
	}
	if n := b.Totals[StatusSent]; n > 12 || n < 6 || b.Totals[StatusCapped] == 0 {
		t.Errorf("variant: %v, want 2 a day for each of 3 borrowers at most, the others capped", b.Totals)
	}
	if c.Totals[StatusSent] != b.Totals[StatusSent]-35 || c.Totals[StatusCapped] != b.Totals[StatusCapped] {
		t.Errorf("comparison totals %v, want B minus A", c.Totals)
	}
	if r := c.Rules["capped/cap"]; r.A != 0 || r.B != b.Totals[StatusCapped] || r.Diff != r.B {
		t.Errorf("rule capped/cap %+v", r)
	}
	if r := c.Rules["deferred/send_window"]; r.A != 0 || r.B == 0 {
		t.Errorf("rule deferred/send_window %+v: the variant's window defers, the base has none", r)
	}
	if len(c.PerDay) != 2 || c.PerDay[0].Channels[domain.SMS]["sent"] >= 0 {
		t.Errorf("per day %+v, want both days with fewer sent", c.PerDay)
	}
	if c.A != "live" || c.B != "strict" {
		t.Errorf("names %q %q", c.A, c.B)
	}
}

// TestCapacitySpill: 120 SMS made to wait for 08:00 under a provider rate
// of 36 an hour spill from 08:00 and are out by 12:00; with a window
// ending at 10:00 some of them are late; without a rate they fit. Half of
// them in Dubai (08:00 there is 04:00 UTC) spill twice a day, and both
// spills are named.
func TestCapacitySpill(t *testing.T) {
	t.Parallel()
	var utc, split Population
	for i := range 120 {
		zone := "UTC"
		if i%2 == 1 {
			zone = "Asia/Dubai"
		}
		utc.Borrowers = append(utc.Borrowers, person("c"+itoa(i), "UTC", "+1555000"+itoa(1000+i), "2026-11-24"))
		split.Borrowers = append(split.Borrowers, person("c"+itoa(i), zone, "+1555000"+itoa(1000+i), "2026-11-24"))
	}
	for _, tt := range []struct {
		name  string
		pop   Population
		rate  float64
		end   string
		hours map[int]int
		want  Capacity
	}{
		{name: "no limit", pop: utc, rate: 0, end: "21:00", hours: map[int]int{8: 120}, want: Capacity{Fits: true}},
		{name: "36 an hour", pop: utc, rate: 0.01, end: "21:00", hours: map[int]int{8: 120},
			want: Capacity{PerHour: 36, Fits: true, Spills: []Spill{{From: "08:00", Until: "12:00"}}}},
		{name: "36 an hour, window to 10:00", pop: utc, rate: 0.01, end: "10:00", hours: map[int]int{8: 120},
			want: Capacity{PerHour: 36, Fits: false, Spills: []Spill{{From: "08:00", Until: "12:00"}}, Late: 48}},
		{name: "36 an hour, two zones", pop: split, rate: 0.01, end: "21:00", hours: map[int]int{4: 60, 8: 60},
			want: Capacity{PerHour: 36, Fits: true, Spills: []Spill{{From: "04:00", Until: "06:00"}, {From: "08:00", Until: "10:00"}}}},
	} {
		cfg := tickConfig(0, "sms")
		cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: tt.end}
		cfg.Providers.SMS.RatePerSecond = tt.rate
		res := run(t, setupOf(t, cfg), tt.pop, date(t, "2026-11-24"), 1)
		got := res.PerDay[0].Channels[domain.SMS]
		for h, n := range tt.hours {
			if got.SentByHour[h] != n {
				t.Errorf("%s: %d sent at %02d:00, want %d", tt.name, got.SentByHour[h], h, n)
			}
		}
		if !reflect.DeepEqual(got.Capacity, tt.want) {
			t.Errorf("%s: capacity %+v, want %+v", tt.name, got.Capacity, tt.want)
		}
	}
}

// TestPopulationErrors: a file that cannot be simulated is refused,
// naming the line and column (CSV) or the path (JSON).
func TestPopulationErrors(t *testing.T) {
	t.Parallel()
	const header = "borrower_id,name,locale,timezone,phone,email,loan_id,due_date,amount_due,currency,status\n"
	const good = "b1,Li Lei,zh-CN,Asia/Shanghai,+8613800000001,l@example.com,L1,2026-11-20,1200.00,CNY,overdue\n"
	tests := []struct {
		name, data string
		wantLine   int
		wantField  string
	}{
		{name: "bad due date", data: header + good + "b2,Ann,en-US,UTC,+15550000001,,L2,20/11/2026,10.00,USD,overdue\n", wantLine: 3, wantField: "due_date"},
		{name: "bad phone", data: header + "b2,Ann,en-US,UTC,5550000001,,L2,2026-11-20,10.00,USD,overdue\n", wantLine: 2, wantField: "phone"},
		{name: "unknown column", data: "borrower_id,loan,due_date\n", wantLine: 1, wantField: "loan"},
		{name: "missing column", data: "borrower_id,loan_id,due_date,amount_due,currency\n", wantLine: 1, wantField: "status"},
		{name: "a borrower's lines disagree", data: header + good + "b1,Li Lei,zh-CN,Asia/Shanghai,+8613800000002,l@example.com,L2,2026-11-20,1.00,CNY,overdue\n", wantLine: 3, wantField: "phone"},
		{name: "a loan of two borrowers", data: header + good + "b2,Ann,en-US,UTC,,,L1,2026-11-20,1.00,USD,overdue\n", wantField: "borrowers[1].loans[0].loan_id"},
		{name: "short line", data: header + "b1,Li Lei\n", wantLine: 2, wantField: "line"},
		{name: "JSON: unknown key", data: `{"borrowers":[{"borrower_id":"b1","loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"USD","status":"overdue","paid":"yes"}]}]}`, wantField: "borrowers[0].loans[0].paid"},
		{name: "JSON: bad currency", data: `{"borrowers":[{"borrower_id":"b1","loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"XXX","status":"overdue"}]}]}`, wantField: "borrowers[0].loans[0].currency"},
		{name: "JSON: agreement on another loan", data: `{"borrowers":[{"borrower_id":"b1","loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"USD","status":"overdue"}],
			"agreements":[{"agreement_id":"A1","kind":"installment","loan_ids":["L9"]}]}]}`, wantField: "borrowers[0].agreements[0].loan_ids[0]"},
		{name: "JSON: bad paid_on", data: `{"borrowers":[{"borrower_id":"b1","loans":[{"loan_id":"L1","due_date":"2026-11-20","amount_due":"1","currency":"USD","status":"overdue","paid_on":"soon"}]}]}`, wantField: "borrowers[0].loans[0].paid_on"},
		{name: "JSON: no borrowers", data: `{"borrowers":[]}`, wantField: "borrowers"},
	}
	for _, tt := range tests {
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
	p, err := ParsePopulation([]byte(header + good + "b1,Li Lei,zh-CN,Asia/Shanghai,+8613800000001,l@example.com,L2,2026-12-20,10.00,CNY,current\n"))
	if err != nil || len(p.Borrowers) != 1 || len(p.Borrowers[0].Loans) != 2 {
		t.Fatalf("good file: %+v %v, want one borrower with two loans", p, err)
	}
}
