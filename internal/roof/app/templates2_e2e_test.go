package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// smsTo returns the SMS sent to a number, if any.
func smsTo(w *world, number string) (faketwilio.Record, bool) {
	for _, m := range w.twilio.Messages() {
		if m.To == number && m.SID != "" {
			return m, true
		}
	}
	return faketwilio.Record{}, false
}

// TestTemplateChangeReachesAnotherInstance: a version published through
// instance A is what instance B's next SMS says, without a restart of B;
// a rollback through A makes v1 B's wording again. A runs no workers, so
// every SMS comes from B.
func TestTemplateChangeReachesAnotherInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	audit := watchAudit(t, w.nats.Conn)
	b := w.start(t, w.config(t, 0, "sms"), "B")
	baseB := "http://" + b.Addr()

	// Instance A: the API and the template store only.
	ctx := testkit.Context(t, 2*time.Minute)
	a, err := app.New(ctx, w.config(t, 0, "sms"), app.Options{NATSURL: w.nats.Server.ClientURL(), Instance: "A", NoHTTP: true, NoScheduler: true, Log: quiet()})
	if err != nil {
		t.Fatalf("instance A: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Stop(stopCtx)
	})
	srvA := httptest.NewServer(a.Handler())
	t.Cleanup(srvA.Close)

	if v := b.Templates().Live("tick"); v != 1 {
		t.Fatalf("B starts with tick v%d, want v1 (seeded)", v)
	}
	v2 := map[string]any{"category": "collection", "channels": map[string]any{"sms": map[string]string{"en-US": "v2: {{.Borrower.Name}} owes {{.Loan.AmountDue}}. Reply STOP to opt out."}}}
	if status, body := do(t, http.MethodPut, srvA.URL+"/v1/templates/tick", "", v2); status != http.StatusOK || !strings.Contains(string(body), `"version":2`) {
		t.Fatalf("publish through A: %d %s, want version 2", status, body)
	}
	waitLive(t, b, "tick", 2)

	loadBorrowers(t, baseB, 1, 0)
	waitFor(t, 30*time.Second, "B's SMS to b0", func() bool { _, ok := smsTo(w, phone(0)); return ok })
	if m, _ := smsTo(w, phone(0)); m.Body != "v2: Borrower 0 owes 100.00. Reply STOP to opt out." {
		t.Fatalf("SMS to b0 = %q, want the v2 wording", m.Body)
	}
	wantSent(t, audit, "b0", "B", 2)

	if status, body := do(t, http.MethodPost, srvA.URL+"/v1/templates/tick/rollback", "", map[string]int{"version": 1}); status != http.StatusOK {
		t.Fatalf("rollback through A: %d %s", status, body)
	}
	waitLive(t, b, "tick", 1)

	loadBorrowers(t, baseB, 1, 1)
	waitFor(t, 30*time.Second, "B's SMS to b1", func() bool { _, ok := smsTo(w, phone(1)); return ok })
	if m, _ := smsTo(w, phone(1)); m.Body != "Hi Borrower 1, loan l1 is overdue. Reply STOP to opt out." {
		t.Fatalf("SMS to b1 = %q, want the v1 wording again", m.Body)
	}
	wantSent(t, audit, "b1", "B", 1)
}

// waitLive waits, with a deadline, until instance x's cache has version v
// of template id live.
func waitLive(t *testing.T, x *app.App, id string, v int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := x.Templates().WaitVersion(ctx, id, v); err != nil {
		t.Fatalf("%s v%d never became live on the other instance (live v%d): %v", id, v, x.Templates().Live(id), err)
	}
}

// wantSent checks the sent record of a borrower: sent by instance, with
// template version v.
func wantSent(t *testing.T, audit *auditLog, borrower, instance string, v int) {
	t.Helper()
	waitFor(t, 10*time.Second, "the sent record of "+borrower, func() bool { return len(recordsFor(audit, borrower, domain.Sent)) == 1 })
	d := recordsFor(audit, borrower, domain.Sent)[0]
	if d.TemplateVersion != v || d.Instance != instance {
		t.Fatalf("sent record of %s: instance %q, template_version %d; want %q, %d", borrower, d.Instance, d.TemplateVersion, instance, v)
	}
}
