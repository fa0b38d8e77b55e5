package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// instalmentWorld is a world with an instalment policy "plan": one SMS at
// each instalment's due date, and a loan policy that sends nothing soon.
func instalmentWorld(t *testing.T) (*world, config.Config) {
	t.Helper()
	w := newWorld(t)
	const tmpl = `category: agreement
channels:
  sms:
    en-US: "Hi {{.Borrower.Name}}, {{.Agreement.NextAmount}} is due on {{.Agreement.NextDueDate}} under {{.Agreement.Kind}} {{.Agreement.ID}}."
`
	if err := os.WriteFile(filepath.Join(w.tmpl, "inst.yaml"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := w.config(t, 0, "sms")
	cfg.Policies = append(cfg.Policies, config.Policy{ID: "plan", Category: "agreement", Anchor: "installment",
		Steps: []config.Step{{ID: "inst", At: 0, Channels: []string{"sms"}, Template: "inst"}}})
	cfg.Agreements.Policy = "plan"
	return w, cfg
}

func activate(t *testing.T, base, borrower, agreement string, installments ...map[string]string) {
	t.Helper()
	status, body := post(t, base+"/v1/events", map[string]any{
		"specversion": "1.0", "id": "act-" + agreement, "source": "test", "type": "agreement.activated",
		"data": map[string]any{"borrower_id": borrower, "agreement_id": agreement, "kind": "installment",
			"loan_ids": []string{"loan-" + borrower}, "installments": installments}})
	if status != http.StatusOK {
		t.Fatalf("activate %s: %d %s", agreement, status, body)
	}
}

// drain empties sub after a round trip to the server, so that every copy
// of a request made before the call is counted; it returns how many.
func drain(t *testing.T, nc *nats.Conn, sub *nats.Subscription) int {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := sub.NextMsg(time.Millisecond); err != nil {
			return n
		}
		n++
	}
}

// TestInstalmentReminderRendersFromItsSnapshot: the sweep copies the
// agreement's scope into the reminder, and while the agreement's hold is in
// the fence's view the worker sends without reading the agreement.
func TestInstalmentReminderRendersFromItsSnapshot(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	w, cfg := instalmentWorld(t)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "inst", "+15550000101", "inst@example.com", "UTC", "2027-06-01")

	// Single-key reads of the agreement (the worker's; the sweep reads in
	// batches, without the key in the subject), and the leader's reads.
	reads, err := w.nats.Conn.SubscribeSync("$JS.API.DIRECT.GET.KV_" + store.AgreementsBucket + ".>")
	if err != nil {
		t.Fatal(err)
	}
	leaderReads, err := w.nats.Conn.SubscribeSync("$JS.API.STREAM.MSG.GET.KV_" + store.AgreementsBucket)
	if err != nil {
		t.Fatal(err)
	}
	activate(t, base, "inst", "A1", map[string]string{"due_date": "2026-11-23", "amount": "50.00"},
		map[string]string{"due_date": "2026-12-23", "amount": "60.00"})
	// What intake read to apply the event is not the worker's.
	drain(t, w.nats.Conn, reads)
	drain(t, w.nats.Conn, leaderReads)

	waitFor(t, 30*time.Second, "the instalment SMS", func() bool { return len(recordsFor(audit, "inst", domain.Sent)) == 1 })
	sent := recordsFor(audit, "inst", domain.Sent)[0]
	if want := "50.00 is due on 2026-11-23 under installment A1"; !strings.Contains(sent.Text, want) {
		t.Errorf("sent %q, want it to contain %q", sent.Text, want)
	}
	if n := drain(t, w.nats.Conn, reads) + drain(t, w.nats.Conn, leaderReads); n != 0 {
		t.Errorf("the worker read the agreement %d time(s) for a reminder that carries its snapshot", n)
	}
}

// TestInstalmentReminderOfAnEndedAgreementIsNotSent: a reminder planned
// while its agreement was active, and deferred until the morning, finds
// the agreement broken when it comes back: it is suppressed, whatever its
// snapshot says.
func TestInstalmentReminderOfAnEndedAgreementIsNotSent(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC))
	w, cfg := instalmentWorld(t)
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Dispatcher.MaxDefer = config.Duration(100 * time.Millisecond)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "broke", "+15550000102", "broke@example.com", "UTC", "2027-06-01")
	activate(t, base, "broke", "A2", map[string]string{"due_date": "2026-11-23", "amount": "50.00"})

	waitFor(t, 30*time.Second, "the instalment reminder deferred", func() bool { return len(recordsFor(audit, "broke", domain.Deferred)) > 0 })
	status, body := post(t, base+"/v1/events", map[string]any{
		"specversion": "1.0", "id": "brk-A2", "source": "test", "type": "agreement.broken",
		"data": map[string]any{"borrower_id": "broke", "agreement_id": "A2"}})
	if status != http.StatusOK {
		t.Fatalf("break: %d %s", status, body)
	}
	clk.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	waitFor(t, 30*time.Second, "the reminder decided in the morning", func() bool { return len(recordsFor(audit, "broke", domain.Suppressed)) > 0 })
	if got := recordsFor(audit, "broke", domain.Suppressed)[0].Reason; got != "agreement_ended:A2" {
		t.Errorf("suppressed with %q, want agreement_ended:A2", got)
	}
	if n := len(w.twilio.Messages()); n != 0 {
		t.Errorf("%d SMS sent for a broken agreement", n)
	}
}

// TestLoanReminderSendsFromItsSnapshot: the sweep copies the borrower and
// the case into a loan reminder, and the worker sends it without reading
// either.
func TestLoanReminderSendsFromItsSnapshot(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	w := newWorld(t)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, w.config(t, 0, "sms"), "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "snap", "+15550000111", "snap@example.com", "UTC", "2026-11-23")

	// Single-key reads (the worker's; the sweep's batch reads have no key
	// in the subject) and the leader's reads, of borrowers and cases.
	var subs []*nats.Subscription
	for _, bucket := range []string{store.BorrowersBucket, store.CasesBucket} {
		for _, subj := range []string{"$JS.API.DIRECT.GET.KV_" + bucket + ".>", "$JS.API.STREAM.MSG.GET.KV_" + bucket} {
			sub, err := w.nats.Conn.SubscribeSync(subj)
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, sub)
		}
	}
	clk.Set(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	waitFor(t, 30*time.Second, "the SMS", func() bool { return len(recordsFor(audit, "snap", domain.Sent)) == 1 })
	if got := recordsFor(audit, "snap", domain.Sent)[0].Text; !strings.Contains(got, "Hi Borrower snap, loan loan-snap is overdue") {
		t.Errorf("sent %q, want it rendered from the borrower and the case", got)
	}
	n := 0
	for _, sub := range subs {
		n += drain(t, w.nats.Conn, sub)
	}
	if n != 0 {
		t.Errorf("%d single reads of the borrower or the case for a reminder that carries their snapshot", n)
	}
}

// TestChangesAfterTheSnapshotReachTheWorker: a reminder planned at 07:50
// and deferred to 08:00 by the send window carries the borrower and the
// case as they were at 07:50. One borrower gets a new number meanwhile and
// another pays: the first SMS goes to the new number, the second is not
// sent, though neither change wrote a suppression of its own.
func TestChangesAfterTheSnapshotReachTheWorker(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2026, 11, 23, 7, 50, 0, 0, time.UTC))
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Dispatcher.MaxDefer = config.Duration(100 * time.Millisecond)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "moved", "+15550000121", "moved@example.com", "UTC", "2026-11-23")
	postBorrower(t, base, "paid", "+15550000122", "paid@example.com", "UTC", "2026-11-23")
	waitFor(t, 30*time.Second, "both reminders deferred", func() bool {
		return len(recordsFor(audit, "moved", domain.Deferred)) > 0 && len(recordsFor(audit, "paid", domain.Deferred)) > 0
	})

	events := []map[string]any{
		{"specversion": "1.0", "id": "bu-moved-2", "source": "test", "type": "borrower.upserted",
			"data": map[string]any{"borrower_id": "moved", "name": "Borrower moved", "locale": "en-US", "timezone": "UTC",
				"phone": "+15550000131", "email": "moved@example.com"}},
		{"specversion": "1.0", "id": "pay-paid", "source": "test", "type": "payment.received",
			"data": map[string]any{"borrower_id": "paid", "loan_id": "loan-paid", "amount": "100.00", "remaining": "0.00"}},
	}
	if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
		t.Fatalf("post changes: %d %s", status, body)
	}
	clk.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	waitFor(t, 60*time.Second, "both reminders decided in the morning", func() bool {
		return len(recordsFor(audit, "moved", domain.Sent)) > 0 &&
			len(recordsFor(audit, "paid", domain.Suppressed))+len(recordsFor(audit, "paid", domain.Sent)) > 0
	})
	if got := recordsFor(audit, "paid", domain.Suppressed); len(got) == 0 || got[0].Reason != "case_closed:paid" {
		t.Errorf("paid borrower's reminder: suppressed %v, want once with case_closed:paid", got)
	}
	if n := postsTo(w, "+15550000131"); n != 1 {
		t.Errorf("%d SMS to the new number, want 1", n)
	}
	for _, old := range []string{"+15550000121", "+15550000122"} {
		if n := postsTo(w, old); n != 0 {
			t.Errorf("%d SMS to %s, whose borrower moved or paid before the send", n, old)
		}
	}
}
