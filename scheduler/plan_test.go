package scheduler

import (
	"slices"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

// examplePlanner plans with the bundled policies: "standard" (pre-due at
// D-3d on sms and inapp; overdue at D+1d every 3d until D+29d on sms; call
// at D+7d every 2d on voice) and "plan" (before at I-2d, missed at I+1d).
func examplePlanner(t *testing.T) Planner {
	t.Helper()
	ps, err := Compile(config.ExamplePolicies())
	if err != nil {
		t.Fatal(err)
	}
	pl := NewPlanner(ps)
	pl.AgreementPolicy = "plan"
	return pl
}

// occurrences lists a plan's targets as "occurrence channels..." lines.
func occurrences(p Plan) []string {
	var out []string
	for _, t := range p.Targets {
		s := t.Reminder.Occurrence
		for _, ch := range t.Channels {
			s += " " + string(ch)
		}
		out = append(out, s)
	}
	return out
}

// TestPlanLoan: what a case needs at an instant, without NATS. The loan
// falls due on 2026-03-10 in Shanghai.
func TestPlanLoan(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	open := domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2026-03-10", Status: domain.LoanOverdue, Policy: "standard"}
	with := func(change func(*domain.Case)) domain.Case { c := open; change(&c); return c }
	tests := []struct {
		name     string
		c        domain.Case
		now      time.Time
		want     []string
		wantNext time.Time
		wantHeld int
		wantDrop string
	}{
		{name: "before anything is due", c: open, now: at("2026-03-06 12:00"), wantNext: at("2026-03-07 00:00")},
		{name: "pre-due at D-3d on both channels", c: open, now: at("2026-03-07 00:00"),
			want: []string{"L1/pre-due/0 sms inapp"}, wantNext: at("2026-03-11 00:00")},
		{name: "one-shot step live for the catch-up", c: open, now: at("2026-03-07 23:59"),
			want: []string{"L1/pre-due/0 sms inapp"}, wantNext: at("2026-03-11 00:00")},
		{name: "one-shot step gone after the catch-up", c: open, now: at("2026-03-08 00:00"), wantNext: at("2026-03-11 00:00")},
		{name: "only the latest occurrence of a repeating step", c: open, now: at("2026-03-18 09:00"),
			want: []string{"L1/overdue/2 sms", "L1/call/0 voice"}, wantNext: at("2026-03-19 00:00")},
		{name: "an active agreement withholds collection", c: with(func(c *domain.Case) { c.AgreementID = "A1" }),
			now: at("2026-03-18 09:00"), wantHeld: 2, wantNext: at("2026-03-19 00:00")},
		{name: "default policy for a case that names none", c: with(func(c *domain.Case) { c.Policy = "" }),
			now: at("2026-03-07 00:00"), want: []string{"L1/pre-due/0 sms inapp"}, wantNext: at("2026-03-11 00:00")},
		{name: "closed case", c: with(func(c *domain.Case) { c.Status = domain.LoanPaid }), now: at("2026-03-18 09:00"), wantDrop: "case closed"},
		{name: "unknown policy", c: with(func(c *domain.Case) { c.Policy = "nope" }), now: at("2026-03-18 09:00"), wantDrop: `no due-date policy "nope"`},
		{name: "instalment policy on a loan", c: with(func(c *domain.Case) { c.Policy = "plan" }), now: at("2026-03-18 09:00"), wantDrop: `no due-date policy "plan"`},
		{name: "due date outside the planned range", c: with(func(c *domain.Case) { c.DueDate = "0001-01-01" }), now: at("2026-03-18 09:00"), wantDrop: "bad due date"},
	}
	pl := examplePlanner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pl.PlanLoan(tt.c, sh, tt.now)
			if p.Drop != tt.wantDrop {
				t.Fatalf("drop %q, want %q", p.Drop, tt.wantDrop)
			}
			if tt.wantDrop != "" {
				return
			}
			if got := occurrences(p); !slices.Equal(got, tt.want) {
				t.Errorf("targets %q, want %q", got, tt.want)
			}
			if !p.Next.Equal(tt.wantNext) {
				t.Errorf("next %s, want %s", p.Next, tt.wantNext)
			}
			if p.Held != tt.wantHeld {
				t.Errorf("held %d, want %d", p.Held, tt.wantHeld)
			}
			for _, tg := range p.Targets {
				r := tg.Reminder
				if r.BorrowerID != "b1" || r.LoanID != "L1" || r.Category != domain.Collection || !r.QueuedAt.Equal(tt.now) {
					t.Errorf("reminder %+v: borrower, loan, category or queued time wrong", r)
				}
			}
		})
	}
}

// TestPlanLoanMarkerFollowsTheDueDate: a new cycle on the same loan id (its
// due date moved) has new markers for the same occurrence ids.
func TestPlanLoanMarkerFollowsTheDueDate(t *testing.T) {
	t.Parallel()
	pl := examplePlanner(t)
	c := domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2026-03-10", Status: domain.LoanOverdue}
	first := pl.PlanLoan(c, time.UTC, time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC))
	c.DueDate = "2026-04-10"
	second := pl.PlanLoan(c, time.UTC, time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC))
	if len(first.Targets) != 1 || len(second.Targets) != 1 {
		t.Fatalf("targets %q and %q, want one each", occurrences(first), occurrences(second))
	}
	a, b := first.Targets[0], second.Targets[0]
	if a.Reminder.Occurrence != b.Reminder.Occurrence || a.Marker == b.Marker {
		t.Errorf("occurrences %q/%q markers %q/%q: want the same occurrence, different markers",
			a.Reminder.Occurrence, b.Reminder.Occurrence, a.Marker, b.Marker)
	}
}

// TestPlanAgreement: an instalment plan's reminders, per instalment.
func TestPlanAgreement(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	agr := domain.Agreement{ID: "A1", BorrowerID: "b1", Kind: "installment", LoanIDs: []string{"L1", "L2"}, Status: domain.AgreementActive,
		Installments: []domain.Installment{{DueDate: "2026-05-05", Amount: "10"}, {DueDate: "2026-06-05", Amount: "10"}}}
	with := func(change func(*domain.Agreement)) domain.Agreement {
		a := agr
		a.Installments = slices.Clone(agr.Installments)
		change(&a)
		return a
	}
	tests := []struct {
		name     string
		a        domain.Agreement
		now      time.Time
		want     []string
		wantNext time.Time
		wantDrop string
		problems int
	}{
		{name: "first instalment's reminder", a: agr, now: utc("2026-05-03 00:00"),
			want: []string{"A1/before/1-0 sms inapp"}, wantNext: utc("2026-05-06 00:00")},
		{name: "missed, then the next instalment's", a: agr, now: utc("2026-06-03 00:30"),
			want: []string{"A1/before/2-0 sms inapp"}, wantNext: utc("2026-06-06 00:00")},
		{name: "a bad instalment date is left out and named", a: with(func(a *domain.Agreement) { a.Installments[0].DueDate = "0001-01-01" }),
			now: utc("2026-06-03 00:30"), want: []string{"A1/before/2-0 sms inapp"}, wantNext: utc("2026-06-06 00:00"), problems: 1},
		{name: "broken agreement", a: with(func(a *domain.Agreement) { a.Status = domain.AgreementBroken }), now: utc("2026-05-03 00:00"), wantDrop: "agreement broken"},
		{name: "unknown policy", a: with(func(a *domain.Agreement) { a.Policy = "nope" }), now: utc("2026-05-03 00:00"), wantDrop: `no instalment policy "nope"`, problems: 1},
	}
	pl := examplePlanner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pl.PlanAgreement(tt.a, time.UTC, tt.now)
			if p.Drop != tt.wantDrop || len(p.Problems) != tt.problems {
				t.Fatalf("drop %q with %d problems %v, want %q with %d", p.Drop, len(p.Problems), p.Problems, tt.wantDrop, tt.problems)
			}
			if tt.wantDrop != "" {
				return
			}
			if got := occurrences(p); !slices.Equal(got, tt.want) {
				t.Errorf("targets %q, want %q", got, tt.want)
			}
			if !p.Next.Equal(tt.wantNext) {
				t.Errorf("next %s, want %s", p.Next, tt.wantNext)
			}
			for _, tg := range p.Targets {
				if r := tg.Reminder; r.AgreementID != "A1" || r.LoanID != "L1" || r.Category != domain.AgreementCategory {
					t.Errorf("reminder %+v: want agreement A1, its first loan, category agreement", r)
				}
			}
		})
	}
	if p := (Planner{Policies: pl.Policies}).PlanAgreement(agr, time.UTC, utc("2026-05-03 00:00")); p.Drop != "no agreement policy" {
		t.Errorf("no agreement policy configured: drop %q", p.Drop)
	}
}

// TestWithheldAndReschedule: a suppression withholds a reminder at
// publish time; a mute with an end brings the subject back at that end,
// unless the next occurrence comes first.
func TestWithheldAndReschedule(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	end := now.Add(36 * time.Hour)
	rem := domain.Reminder{LoanID: "L1", Channel: domain.SMS, Category: domain.Collection}
	tests := []struct {
		name     string
		sup      domain.Suppressions
		wantKind string
		wantWake time.Time
	}{
		{name: "nothing in force", sup: domain.Suppressions{}},
		{name: "a mute with an end", sup: domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Until: &end}}}, wantKind: "mute", wantWake: end},
		{name: "a mute without an end", sup: domain.Suppressions{Mutes: []domain.Mute{{ID: "m1"}}}, wantKind: "mute"},
		{name: "an agreement's hold", sup: domain.Suppressions{Holds: []domain.Hold{{AgreementID: "A1", LoanIDs: []string{"L1"}}}}, wantKind: "agreement"},
		{name: "a mute of another channel", sup: domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Channels: []domain.Channel{domain.Voice}}}}},
	}
	for _, tt := range tests {
		blk, wake, withheld := Withheld(tt.sup, rem, now)
		if withheld != (tt.wantKind != "") || blk.Kind != tt.wantKind || !wake.Equal(tt.wantWake) {
			t.Errorf("%s: withheld %v by %q until %s, want %q until %s", tt.name, withheld, blk.Kind, wake, tt.wantKind, tt.wantWake)
		}
	}
	next := now.Add(24 * time.Hour)
	if got := (Plan{Next: next}).Reschedule(end); !got.Equal(next) {
		t.Errorf("reschedule: %s, want the next occurrence %s", got, next)
	}
	if got := (Plan{Next: next}).Reschedule(now.Add(time.Hour)); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("reschedule: %s, want the mute's end", got)
	}
	if got := (Plan{}).Reschedule(time.Time{}); !got.IsZero() {
		t.Errorf("reschedule with nothing left: %s, want zero", got)
	}
	if got := DueMinute(now.Add(time.Second)); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("due minute %s, want the next minute", got)
	}
}

// TestAroundIsLatestAndNext: the planner's single search gives what
// Latest and Next give, hour by hour across DST changes and a skipped
// day, for one-shot, bounded and open-ended steps, whatever the catch-up.
func TestAroundIsLatestAndNext(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	day := 24 * time.Hour
	steps := []Step{
		{ID: "once", At: -3 * day},
		{ID: "bounded", At: day, Every: 3 * day, Until: 29 * day, Bounded: true},
		{ID: "open", At: -36 * time.Hour, Every: 36 * time.Hour},
		{ID: "every other day", At: 7*day + 10*time.Hour, Every: 2 * day},
		{ID: "minute", At: 0, Every: time.Minute, Until: 2 * time.Hour, Bounded: true},
	}
	// New York's DST changes, and Apia's day that never was (2011-12-30),
	// each a few days after the anchor: around's shortcut for steps that
	// are over must hold across them.
	anchors := []time.Time{mustAnchor(t, "2025-03-01", ny), mustAnchor(t, "2011-12-26", mustZone(t, "Pacific/Apia"))}
	for _, anchor := range anchors {
		for _, st := range steps {
			for now := anchor.Add(-5 * day); now.Before(anchor.Add(60 * day)); now = now.Add(time.Hour + 7*time.Minute) {
				for _, catchUp := range []time.Duration{0, time.Hour, day} {
					occ, live, next, more := st.around(anchor, now, catchUp)
					wantOcc, wantLive := st.Latest(anchor, now, catchUp)
					wantNext, wantMore := st.Next(anchor, now)
					if occ != wantOcc || live != wantLive || !next.Equal(wantNext) || more != wantMore {
						t.Fatalf("%s at %s, catch-up %s: around %v %v %s %v; Latest %v %v, Next %s %v",
							st.ID, now, catchUp, occ, live, next, more, wantOcc, wantLive, wantNext, wantMore)
					}
				}
			}
		}
	}
}
