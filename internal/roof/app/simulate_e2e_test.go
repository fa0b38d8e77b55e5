package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/templates"
)

// TestSimulationAgreesWithTheLiveSystem: the same population, run live on
// a fast fake clock (a real instance: NATS, the sweep, the workers, the
// fake Twilio and SMTP) and simulated, gets the same sends, deferrals,
// caps and suppressions, reminder by reminder, and what the simulation
// says the sweep withheld never reaches the live audit trail.
//
// Five borrowers in three zones, one loan each, a reminder every 11 hours
// on sms, voice and email from the due date's midnight, the send window
// 08:00-21:00, at most 2 SMS in 24 hours; on the second day one borrower
// pays and another's agreement starts, while each has a reminder deferred
// to the morning.
func TestSimulationAgreesWithTheLiveSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a live instance through three days, hour by hour")
	}
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 11*time.Hour, "sms", "voice", "email")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Compliance.Caps = map[string]config.Cap{"sms": {Max: 2, Per: config.Duration(24 * time.Hour)}}
	cfg.Dispatcher.MaxDefer = config.Duration(100 * time.Millisecond)

	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const days = 3
	changeDay := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	person := func(id, zone, phone string) simulate.Borrower {
		return simulate.Borrower{
			BorrowerData: intake.BorrowerData{BorrowerID: id, Name: "Borrower " + id, Locale: "en-US", Timezone: zone, Phone: phone, Email: id + "@example.com"},
			Loans: []simulate.Loan{{LoanData: intake.LoanData{BorrowerID: id, LoanID: "loan-" + id, DueDate: "2026-11-23", AmountDue: "100.00",
				Currency: "USD", Status: domain.LoanOverdue, Policy: "tick"}}},
		}
	}
	pop := simulate.Population{Borrowers: []simulate.Borrower{
		person("utc", "UTC", "+15550000001"),
		person("sh", "Asia/Shanghai", "+8613800000001"),
		person("ny", "America/New_York", "+12125550100"),
		person("paid", "UTC", "+15550000003"),
		person("agr", "UTC", "+15550000002"),
	}}
	pop.Borrowers[3].Loans[0].PaidOn = changeDay.Format(time.DateOnly)
	pop.Borrowers[4].Agreements = []simulate.Agreement{{AgreementData: intake.AgreementData{BorrowerID: "agr", AgreementID: "A-agr",
		Kind: "settlement", LoanIDs: []string{"loan-agr"}}, ActivatedOn: changeDay.Format(time.DateOnly)}}
	if err := pop.Validate(); err != nil {
		t.Fatal(err)
	}

	// The simulation, with the same configuration and templates.
	defs, err := templates.LoadDir(w.tmpl)
	if err != nil {
		t.Fatal(err)
	}
	set, err := templates.NewSet(defs)
	if err != nil {
		t.Fatal(err)
	}
	setup, err := simulate.NewSetup("live", cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	res, err := simulate.Run(context.Background(), setup, pop, simulate.Options{Start: start, Days: days, KeepFirst: simulate.MaxKeep})
	if err != nil {
		t.Fatal(err)
	}
	simulated := map[string][]string{}
	withheld := map[string]bool{}
	for _, s := range res.Schedules {
		for _, e := range s.Entries {
			if e.Status == simulate.StatusWithheld {
				withheld[e.ReminderID] = true
				continue
			}
			if !slices.Contains(simulated[e.ReminderID], e.Status) {
				simulated[e.ReminderID] = append(simulated[e.ReminderID], e.Status)
			}
		}
	}

	// The live run: one instance whose sweeps this test runs, hour by hour.
	clk := clock.NewFake(start)
	ctx := testkit.Context(t, 5*time.Minute)
	a, err := app.New(ctx, cfg, app.Options{NATSURL: w.nats.Server.ClientURL(), Instance: "live", Log: quiet(), Clock: clk, NoScheduler: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Stop(c)
	})
	base := "http://" + a.Addr()
	audit := watchAudit(t, w.nats.Conn)
	for i, b := range pop.Borrowers {
		l := b.Loans[0]
		events := []map[string]any{
			{"specversion": "1.0", "id": fmt.Sprintf("bu-%d", i), "source": "test", "type": "borrower.upserted",
				"data": map[string]any{"borrower_id": b.BorrowerID, "name": b.Name, "locale": b.Locale, "timezone": b.Timezone, "phone": b.Phone, "email": b.Email}},
			{"specversion": "1.0", "id": fmt.Sprintf("lu-%d", i), "source": "test", "type": "loan.updated",
				"data": map[string]any{"borrower_id": b.BorrowerID, "loan_id": l.LoanID, "due_date": l.DueDate, "amount_due": l.AmountDue,
					"currency": l.Currency, "status": l.Status, "policy": l.Policy}},
		}
		if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
			t.Fatalf("load %s: %d %s", b.BorrowerID, status, body)
		}
	}
	changes := []map[string]any{
		{"specversion": "1.0", "id": "pay-paid", "source": "test", "type": "payment.received",
			"data": map[string]any{"borrower_id": "paid", "loan_id": "loan-paid", "amount": "100.00", "remaining": "0"}},
		{"specversion": "1.0", "id": "agr-agr", "source": "test", "type": "agreement.activated",
			"data": map[string]any{"borrower_id": "agr", "agreement_id": "A-agr", "kind": "settlement", "loan_ids": []string{"loan-agr"}}},
	}
	defer func() {
		if t.Failed() {
			audit.dump(t)
		}
	}()
	published := 0
	sweep := func(now time.Time) {
		t.Helper()
		st, err := a.Scheduler().Sweep(ctx)
		if err != nil {
			t.Fatalf("sweep at %s: %v", now, err)
		}
		published += st.Published
	}
	sweep(start)
	settleLive(t, audit, start, &published)
	end := start.AddDate(0, 0, days)
	for now := start.Add(time.Hour); now.Before(end); now = now.Add(time.Hour) {
		clk.Set(now)
		if now.Equal(changeDay) {
			if status, body := post(t, base+"/v1/events", changes); status != http.StatusOK {
				t.Fatalf("changes: %d %s", status, body)
			}
		}
		// Reminders held until now are decided first, then the sweep
		// publishes what falls due now: the order the simulation keeps
		// within one instant.
		waitFor(t, 30*time.Second, "the reminders deferred until "+now.Format(time.RFC3339), func() bool {
			return len(undecided(audit, now, false)) == 0
		})
		sweep(now)
		settleLive(t, audit, now, &published)
	}

	live := map[string][]string{}
	for _, d := range audit.all() {
		st := string(d.Status)
		switch d.Status {
		case domain.Queued:
			continue
		case domain.Delivered:
			st = simulate.StatusSent
		}
		if !slices.Contains(live[d.ID], st) {
			live[d.ID] = append(live[d.ID], st)
		}
	}
	for id := range withheld {
		if _, ok := live[id]; ok {
			t.Errorf("%s: withheld in the simulation, but live it has records %v", id, live[id])
		}
	}
	var diffs []string
	for _, id := range slices.Sorted(maps.Keys(union(live, simulated))) {
		l, s := slices.Sorted(slices.Values(live[id])), slices.Sorted(slices.Values(simulated[id]))
		if !slices.Equal(l, s) {
			diffs = append(diffs, fmt.Sprintf("%s: live %v, simulated %v", id, l, s))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("live and simulated differ on %d reminders:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
	// The population exercised every kind of decision.
	counts := map[string]int{}
	for _, sts := range simulated {
		for _, st := range sts {
			counts[st]++
		}
	}
	counts[simulate.StatusWithheld] = len(withheld)
	for _, st := range []string{simulate.StatusSent, simulate.StatusDeferred, simulate.StatusCapped, simulate.StatusSuppressed, simulate.StatusWithheld} {
		if counts[st] == 0 {
			t.Errorf("no reminder was %s: the comparison does not cover it (%v)", st, counts)
		}
	}
	if res.Rules["suppressed/case_closed"] == 0 || res.Rules["suppressed/agreement"] == 0 {
		t.Errorf("rules %v: want a reminder suppressed by the payment and one by the agreement", res.Rules)
	}
	t.Logf("%d reminders compared: %v", len(simulated), counts)
}

// settleLive waits until the sweep's reminders are all queued and every
// queued reminder is decided, or deferred beyond now.
func settleLive(t *testing.T, audit *auditLog, now time.Time, published *int) {
	t.Helper()
	waitFor(t, 30*time.Second, "every reminder decided at "+now.Format(time.RFC3339), func() bool {
		queued := 0
		for _, d := range audit.all() {
			if d.Status == domain.Queued {
				queued++
			}
		}
		return queued == *published && len(undecided(audit, now, true)) == 0
	})
}

var deferredUntil = regexp.MustCompile(`deferred until (\S+)`)

// undecided lists the queued reminders that the workers still owe a
// decision at now: those without any decision (when fresh is set) and
// those whose last decision deferred them until now or earlier.
func undecided(audit *auditLog, now time.Time, fresh bool) []string {
	last := map[string]domain.Delivery{}
	var ids []string
	for _, d := range audit.all() {
		if d.Status == domain.Queued {
			ids = append(ids, d.ID)
			continue
		}
		last[d.ID] = d
	}
	var out []string
	for _, id := range ids {
		d, ok := last[id]
		switch {
		case !ok:
			if fresh {
				out = append(out, id)
			}
		case d.Status == domain.Deferred:
			m := deferredUntil.FindStringSubmatch(d.Reason)
			if m == nil {
				continue
			}
			if until, err := time.Parse(time.RFC3339, m[1]); err == nil && !until.After(now) {
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b map[string][]string) map[string][]string {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] = append(out[k], v...)
	}
	return out
}

// TestSimulationOfALiveSampleKnowsTheNumbers: a dry run of borrowers sampled from
// the live state decides on what intake stored of their numbers, as the
// live workers would: under us-regf and us-ma, the number checked by a
// reassigned-number check and the one the borrower confirmed by a consent
// to SMS are texted, the number never checked is held by the number check;
// (a text a day, each held until a week after it was due, then capped);
// the number given as a work number gets two texts in 30 days, the other
// (a +1 number, home or mobile) two in every 7 days.
func TestSimulationOfALiveSampleKnowsTheNumbers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 24*time.Hour, "sms")
	cfg.Compliance.Preset = config.Presets{"us-regf", "us-ma"}
	clk := clock.NewFake(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	a := w.startWithClock(t, cfg, "sample", clk)
	base := "http://" + a.Addr()
	event := func(id, typ string, data map[string]any) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "test", "type": typ, "data": data}
	}
	var events []map[string]any
	for i, b := range []map[string]any{
		{"borrower_id": "checked", "phone_kind": "work", "phone_checked_at": "2026-11-10T09:00:00Z", "phone_check": "reassigned_number_check"},
		{"borrower_id": "consented"},
		{"borrower_id": "unchecked"},
	} {
		id := b["borrower_id"].(string)
		b["name"], b["locale"], b["timezone"], b["phone"] = "Borrower "+id, "en-US", "UTC", fmt.Sprintf("+121255501%02d", i)
		events = append(events, event("bu-"+id, "borrower.upserted", b),
			event("lu-"+id, "loan.updated", map[string]any{"borrower_id": id, "loan_id": "loan-" + id, "due_date": "2026-11-23",
				"amount_due": "100.00", "currency": "USD", "status": "overdue", "policy": "tick"}))
	}
	events = append(events, event("consent", "borrower.consented", map[string]any{"borrower_id": "consented", "channel": "sms", "at": "2026-11-19T09:00:00Z"}))
	if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
		t.Fatalf("events: %d %s", status, body)
	}
	status, body := post(t, base+"/v1/simulate", map[string]any{"days": 8, "start": "2026-11-23", "sample": 10,
		"borrowers": []string{"checked", "consented", "unchecked"}})
	if status != http.StatusOK {
		t.Fatalf("dry run: %d %s", status, body)
	}
	var ans simulate.Answer
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range ans.Run.Schedules {
		for _, e := range s.Entries {
			got[s.BorrowerID] = append(got[s.BorrowerID], strings.TrimSpace(e.At.UTC().Format("01-02")+" "+e.Status+" "+e.Rule))
		}
	}
	capped := func(n int) []string { return slices.Repeat([]string{"capped phone_contacts"}, n) }
	days := func(from int, sts ...string) []string {
		var out []string
		for i, st := range sts {
			out = append(out, strings.TrimSpace(fmt.Sprintf("11-%02d %s", from+i, st)))
		}
		return out
	}
	for id, want := range map[string][]string{
		"checked":   days(23, append([]string{"sent", "sent"}, capped(6)...)...),
		"consented": days(23, append(append([]string{"sent", "sent"}, capped(5)...), "sent")...),
		"unchecked": append(days(23, slices.Repeat([]string{"deferred number_check"}, 7)...), "11-30 capped number_check", "11-30 deferred number_check"),
	} {
		if strings.Join(got[id], ", ") != strings.Join(want, ", ") {
			t.Errorf("%s:\n got %q\nwant %q", id, got[id], want)
		}
	}
}
