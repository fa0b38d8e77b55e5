package support_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/scheduler"
)

type bundle struct {
	state *store.State
	svc   *support.Service
	clock *clock.Fake
	nats  *testkit.NATS
}

// setup builds a Service on real NATS with the built-in contact rules
// (08:00-21:00, SMS 3 per 24h), scheduler.timezone UTC and policies.
func setup(t *testing.T, now time.Time, policies []config.Policy) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	rules, err := compliance.Compile(config.Compliance{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := dispatcher.NewLedger(ctx, n.JS, rules, clk)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := scheduler.Compile(policies)
	if err != nil {
		t.Fatal(err)
	}
	svc := support.New(support.Options{State: st, Ledger: ledger, Policies: pols, DefaultZone: time.UTC, PhoneRegion: "CN", Clock: clk})
	return &bundle{state: st, svc: svc, clock: clk, nats: n}
}

func every(d time.Duration) *config.Duration {
	v := config.Duration(d)
	return &v
}

// TestBorrowerPageAtNightInTheBorrowersZone: a borrower in Shanghai, seen
// at 01:00 local time (17:00 UTC the day before). Days past due count in
// the borrower's zone, the page gives the zone and local time, and each
// next reminder says what the real rules would do at its time: the
// midnight SMS is capped (three SMS already today), the midnight email
// deferred until 08:00 by the send window, the midnight call suppressed by
// a mute, and the noon email allowed.
func TestBorrowerPageAtNightInTheBorrowersZone(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, sh)
	b := setup(t, now, []config.Policy{{ID: "daily", Category: "collection", Steps: []config.Step{
		{ID: "midnight", At: 0, Every: every(24 * time.Hour), Channels: []string{"sms", "email", "voice"}, Template: "overdue"},
		{ID: "noon", At: config.Duration(12 * time.Hour), Every: every(24 * time.Hour), Channels: []string{"email"}, Template: "noon"},
	}}})
	ctx := testkit.Context(t, time.Minute)
	if err := b.state.PutBorrower(ctx, domain.Borrower{ID: "b-night", Name: "Li Lei", Locale: "zh-CN", Timezone: "Asia/Shanghai",
		Phone: "+8613800000001", Email: "li@example.com", LoanIDs: []string{"L-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.state.PutCase(ctx, domain.Case{LoanID: "L-1", BorrowerID: "b-night", DueDate: "2026-11-20", AmountDue: "1200.00",
		Currency: "CNY", Status: domain.LoanOverdue, Policy: "daily"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.state.UpdateSuppressions(ctx, "b-night", func(s *domain.Suppressions) error {
		s.Mutes = append(s.Mutes, domain.Mute{ID: "mute_1", Channels: []domain.Channel{domain.Voice}, Reason: "complaint"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Three SMS went out a moment ago.
	ledger, err := store.OpenBucket(ctx, b.nats.JS, store.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	sent := now.Add(-time.Minute)
	if _, err := store.UpdateJSON(ctx, ledger, store.Token("b-night"), func(l *compliance.Ledger) (bool, error) {
		for _, id := range []string{"a", "b", "c"} {
			l.Attempts = append(l.Attempts, compliance.Attempt{ID: id, Channel: domain.SMS, LoanID: "L-1", At: sent, Outcome: compliance.OutcomeSent})
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}

	v, err := b.svc.Borrower(ctx, "b-night")
	if err != nil {
		t.Fatal(err)
	}
	if v.Zone != "Asia/Shanghai" || !v.LocalTime.Equal(now) || v.LocalTime.Format("15:04 -0700") != "01:00 +0800" {
		t.Errorf("zone %q, local time %s; want Asia/Shanghai, 01:00 +0800", v.Zone, v.LocalTime)
	}
	if len(v.Cases) != 1 || v.Cases[0].DaysPastDue != 4 {
		t.Fatalf("cases = %+v, want L-1 4 days past due (3 in UTC)", v.Cases)
	}
	if len(v.Contacts) != 3 {
		t.Errorf("contacts = %+v, want the three SMS", v.Contacts)
	}
	if len(v.Suppressions.Mutes) != 1 {
		t.Errorf("suppressions = %+v, want the mute", v.Suppressions)
	}
	midnight := time.Date(2026, 11, 25, 0, 0, 0, 0, sh)
	noon := time.Date(2026, 11, 24, 12, 0, 0, 0, sh)
	morning := time.Date(2026, 11, 25, 8, 0, 0, 0, sh)
	capFrees := sent.Add(24 * time.Hour)
	type want struct {
		status, rule string
		until        time.Time
	}
	wants := map[string]map[domain.Channel]want{
		"noon": {domain.Email: {status: "allowed"}},
		"midnight": {
			domain.SMS:   {status: "capped", rule: "cap", until: capFrees},
			domain.Email: {status: "deferred", rule: "send_window", until: morning},
			domain.Voice: {status: "suppressed", rule: "mute"},
		},
	}
	if len(v.Next) != 2 || v.Next[0].Step != "noon" || !v.Next[0].At.Equal(noon) || v.Next[1].Step != "midnight" || !v.Next[1].At.Equal(midnight) {
		t.Fatalf("next reminders = %+v, want noon today then midnight", v.Next)
	}
	for _, u := range v.Next {
		if u.Template == "" {
			t.Errorf("next reminder %s names no template", u.Step)
		}
		if len(u.Checks) != len(wants[u.Step]) {
			t.Errorf("%s: checks %+v, want %d", u.Step, u.Checks, len(wants[u.Step]))
		}
		for _, c := range u.Checks {
			w := wants[u.Step][c.Channel]
			var until time.Time
			if c.Until != nil {
				until = *c.Until
			}
			if c.Status != w.status || c.Rule != w.rule || !until.Equal(w.until) {
				t.Errorf("%s %s: %s (%s) until %s: %s; want %s (%s) until %s", u.Step, c.Channel, c.Status, c.Rule, until, c.Reason, w.status, w.rule, w.until)
			}
		}
	}
}

// TestBorrowerPageOfAnUnknownBorrower is store.ErrNotFound.
func TestBorrowerPageOfAnUnknownBorrower(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Now(), config.ExamplePolicies())
	if _, err := b.svc.Borrower(testkit.Context(t, time.Minute), "nobody"); err == nil || err != store.ErrNotFound {
		t.Fatalf("Borrower(nobody) = %v, want store.ErrNotFound", err)
	}
}

// TestSearchErrorsDoNotEchoTheQuery: a search that fails (here: its
// context is over) says what it was reading and why, and keeps its cause
// for errors.Is, but never the query, which may be a phone number or an
// email and would go to the log.
func TestSearchErrorsDoNotEchoTheQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Now(), config.ExamplePolicies())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, q := range []string{"13800000001", "li.lei@example.com"} {
		_, err := b.svc.Search(ctx, q)
		if err == nil {
			t.Fatalf("Search(%q) with a cancelled context succeeded", q)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Search(%q) = %v, want it to wrap context.Canceled", q, err)
		}
		if msg := err.Error(); strings.Contains(msg, q) || strings.Contains(msg, store.Token(q)) || strings.Contains(msg, store.Token("+86"+q)) {
			t.Errorf("Search(%q) error %q names the query", q, msg)
		}
	}
	if _, err := b.svc.Search(testkit.Context(t, time.Minute), " "); !errors.Is(err, support.ErrQuery) {
		t.Errorf("Search(blank) = %v, want ErrQuery", err)
	}
}

// TestSearchIsBounded: a number that more borrowers share than a search
// lists gives MaxMatches of them.
func TestSearchIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Now(), config.ExamplePolicies())
	ctx := testkit.Context(t, time.Minute)
	const shared = "+8613800000002"
	for i := range support.MaxMatches + 10 {
		id := "b-" + strconv.Itoa(i)
		if err := b.state.PutBorrower(ctx, domain.Borrower{ID: id, Name: id, Phone: shared}); err != nil {
			t.Fatal(err)
		}
		if err := b.state.IndexPhone(ctx, id, "", shared); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.svc.Search(ctx, "138 0000 0002")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != support.MaxMatches {
		t.Errorf("%d matches, want %d", len(got), support.MaxMatches)
	}
}
