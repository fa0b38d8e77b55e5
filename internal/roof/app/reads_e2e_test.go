package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestManyDeferredRemindersLeaveNoConsumers: 1,200 borrowers at night,
// every reminder deferred and decided again every few seconds (through the
// stream's message scheduler, so all of them cycle). Each decision
// looks up the reminder's earlier deferral in the audit trail; those
// look-ups used to leave one consumer each on the DELIVERIES stream, which
// reached the stream's consumer limit within seconds, after which every
// look-up failed and every return recorded the deferral again.
func TestManyDeferredRemindersLeaveNoConsumers(t *testing.T) {
	t.Parallel()
	night := time.Date(2026, 11, 23, 22, 30, 0, 0, time.UTC)
	clk := clock.NewFake(night)
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Dispatcher.MaxDefer = config.Duration(5 * time.Second)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()

	const borrowers = 1200
	for from := 0; from < borrowers; from += 200 {
		var events []map[string]any
		for i := from; i < from+200; i++ {
			id := fmt.Sprintf("n%d", i)
			events = append(events,
				map[string]any{"specversion": "1.0", "id": "bu-" + id, "source": "test", "type": "borrower.upserted",
					"data": map[string]any{"borrower_id": id, "name": "Borrower " + id, "locale": "en-US", "timezone": "UTC",
						"phone": fmt.Sprintf("+86138%08d", i)}},
				map[string]any{"specversion": "1.0", "id": "lu-" + id, "source": "test", "type": "loan.updated",
					"data": map[string]any{"borrower_id": id, "loan_id": "loan-" + id, "due_date": night.Format(time.DateOnly),
						"amount_due": "100.00", "currency": "USD", "status": "overdue", "policy": "tick"}})
		}
		if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
			t.Fatalf("load borrowers: %d %s", status, body)
		}
	}
	deferred := func() map[string]int {
		per := map[string]int{}
		for _, d := range audit.all() {
			if d.Status == domain.Deferred {
				per[d.BorrowerID]++
			}
		}
		return per
	}
	waitFor(t, 3*time.Minute, "a deferral of every borrower", func() bool { return len(deferred()) == borrowers })
	// Every reminder decided at least twice on average: the returns have
	// looked their deferral up.
	waitFor(t, 3*time.Minute, "the deferred reminders to come back", func() bool {
		return metric(t, base, `forbear_compliance_decisions_total{rule="send_window",status="deferred"}`) >= 2*borrowers
	})

	ctx := testkit.Context(t, time.Minute)
	s, err := w.nats.JS.Stream(ctx, store.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("%d consumers on the DELIVERIES stream, want 0", info.State.Consumers)
	}
	for id, n := range deferred() {
		if n != 1 {
			t.Fatalf("borrower %s has %d deferral records, want 1 (recorded once per reason)", id, n)
		}
	}
	if n := len(w.twilio.Messages()); n != 0 {
		t.Fatalf("%d SMS sent at night", n)
	}
}
