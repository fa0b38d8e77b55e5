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
