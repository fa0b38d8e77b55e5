package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// deliveries reads a borrower's audit trail through the API.
func deliveries(t *testing.T, base, borrower string) []domain.Delivery {
	t.Helper()
	status, body := do(t, http.MethodGet, base+"/v1/borrowers/"+borrower+"/deliveries", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET deliveries of %s: %d %s", borrower, status, body)
	}
	var out struct {
		Deliveries []domain.Delivery `json:"deliveries"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Deliveries
}

func withStatus(list []domain.Delivery, status domain.Status) (domain.Delivery, bool) {
	for _, d := range list {
		if d.Status == status {
			return d, true
		}
	}
	return domain.Delivery{}, false
}

// TestDeliveryRecordsCarryTheRenderedText: support sees the message as the
// borrower got it (the text Twilio was given, on the sent record) or would
// have (on a record decided after rendering: a permanent provider
// failure), in GET /v1/borrowers/{id}/deliveries; the email record also
// carries its subject, and the queued line, decided before any rendering,
// carries no text.
func TestDeliveryRecordsCarryTheRenderedText(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms", "email")
	w.twilio.FailNext(phone(1), 400, 21211, 1)
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 2, 0)

	waitFor(t, 30*time.Second, "b0's SMS at Twilio", func() bool { return postsTo(w, phone(0)) == 1 })
	var sms faketwilio.Record
	for _, m := range w.twilio.Messages() {
		if m.To == phone(0) {
			sms = m
		}
	}
	var sent, failed, mail domain.Delivery
	waitFor(t, 30*time.Second, "the sent, failed and email records in the trail", func() bool {
		var ok1, ok2, ok3 bool
		for _, d := range deliveries(t, base, "b0") {
			switch {
			case d.Channel == domain.SMS && d.Status == domain.Sent:
				sent, ok1 = d, true
			case d.Channel == domain.Email && d.Status == domain.Sent:
				mail, ok3 = d, true
			}
		}
		failed, ok2 = withStatus(deliveries(t, base, "b1"), domain.Failed)
		return ok1 && ok2 && ok3
	})
	if sent.Text == "" || sent.Text != sms.Body {
		t.Errorf("sent record text = %q, want what Twilio got: %q", sent.Text, sms.Body)
	}
	if want := "Hi Borrower 1, loan l1 is overdue. Reply STOP to opt out."; failed.Text != want {
		t.Errorf("failed record text = %q, want %q", failed.Text, want)
	}
	if failed.TemplateVersion == 0 {
		t.Errorf("failed record names no template version")
	}
	if mail.Subject != "Loan l0 is overdue" || mail.Text != "Dear Borrower 0, please repay. Reply STOP to opt out." {
		t.Errorf("email record subject %q, text %q", mail.Subject, mail.Text)
	}
	queued, ok := withStatus(deliveries(t, base, "b0"), domain.Queued)
	if !ok || queued.Text != "" || queued.Subject != "" {
		t.Errorf("queued record = %+v, want one without text", queued)
	}
}
