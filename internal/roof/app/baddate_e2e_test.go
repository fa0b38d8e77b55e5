package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/scheduler"
)

// TestStoredBadDueDateWedgesNothing: a loan stored with due date
// 0001-01-01 (as intake accepted before it checked dates) neither stops
// the sweep, so the borrower's other loan still gets its SMS, nor makes
// GET /v1/borrowers/{id} spin: it answers at once and lists the good
// loans' next reminders only.
func TestStoredBadDueDateWedgesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, time.Hour, "sms")
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	ctx := testkit.Context(t, 2*time.Minute)
	today := time.Now().UTC().Format(time.DateOnly)
	nextYear := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	loan := func(id, due string) map[string]any {
		return map[string]any{"specversion": "1.0", "id": "lu-" + id + "-" + due, "source": "test", "type": "loan.updated",
			"data": map[string]any{"borrower_id": "b1", "loan_id": id, "due_date": due, "amount_due": "100.00",
				"currency": "USD", "status": "overdue", "policy": "tick"}}
	}
	events := []map[string]any{
		{"specversion": "1.0", "id": "bu-b1", "source": "test", "type": "borrower.upserted",
			"data": map[string]any{"borrower_id": "b1", "name": "Borrower 1", "locale": "en-US", "timezone": "UTC", "phone": phone(1)}},
		loan("bad", nextYear),
	}
	if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
		t.Fatalf("post events: %d %s", status, body)
	}

	// Rewrite the stored case as it was before intake checked dates, and
	// make it due now.
	cases, err := a.JetStream().KeyValue(ctx, store.CasesBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cases.Get(ctx, store.Token("bad"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		t.Fatal(err)
	}
	c["due_date"] = "0001-01-01"
	data, _ := json.Marshal(c)
	if _, err := cases.Put(ctx, store.Token("bad"), data); err != nil {
		t.Fatal(err)
	}
	if err := a.Scheduler().Reindex(ctx, scheduler.KindLoan, "bad"); err != nil {
		t.Fatal(err)
	}

	if status, body := post(t, base+"/v1/events", []map[string]any{loan("good", today)}); status != http.StatusOK {
		t.Fatalf("post good loan: %d %s", status, body)
	}
	waitFor(t, 60*time.Second, "the good loan's SMS", func() bool { return len(w.twilio.Messages()) > 0 })
	// Later sweeps still run: a loan posted now is sent too. (The sweep
	// that sent the good loan also listed the bad one.)
	if status, body := post(t, base+"/v1/events", []map[string]any{loan("later", today)}); status != http.StatusOK {
		t.Fatalf("post later loan: %d %s", status, body)
	}
	waitFor(t, 60*time.Second, "the later loan's SMS", func() bool { return len(w.twilio.Messages()) > 1 })

	client := &http.Client{Timeout: 10 * time.Second}
	began := time.Now()
	resp, err := client.Get(base + "/v1/borrowers/b1")
	if err != nil {
		t.Fatalf("GET borrower (after %s): %v", time.Since(began), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET borrower: %d %s", resp.StatusCode, body)
	}
	var view struct {
		Next []httpapi.Upcoming `json:"next_reminders"`
	}
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Next) == 0 {
		t.Errorf("no next reminders; want the good loan's: %s", body)
	}
	for _, u := range view.Next {
		if u.LoanID == "bad" {
			t.Errorf("next reminder %+v for a loan with no plausible schedule", u)
		}
	}
}
