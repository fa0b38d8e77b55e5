package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// TestPublishedTemplateIsUsedByTheNextSMS: a broken version is refused
// naming channel and locale, a good one becomes live and the next SMS uses
// it, recording the version.
func TestPublishedTemplateIsUsedByTheNextSMS(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	audit := watchAudit(t, w.nats.Conn)
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()

	bad := map[string]any{"category": "collection", "channels": map[string]any{"sms": map[string]string{"en-US": "Pay {{.Loan.Nope}}. Reply STOP to opt out."}}}
	status, body := do(t, http.MethodPut, base+"/v1/templates/tick", "", bad)
	var e struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if status != http.StatusBadRequest || e.Error.Field != "channels.sms.en-US" {
		t.Fatalf("broken template: %d %s, want 400 naming channels.sms.en-US", status, body)
	}
	good := map[string]any{"category": "collection", "channels": map[string]any{"sms": map[string]string{"en-US": "v2: {{.Borrower.Name}} owes {{.Loan.AmountDue}}. Reply STOP to opt out."}}}
	status, body = do(t, http.MethodPut, base+"/v1/templates/tick", "", good)
	if status != http.StatusOK || !strings.Contains(string(body), `"version":2`) {
		t.Fatalf("good template: %d %s, want version 2", status, body)
	}
	loadBorrowers(t, base, 1, 0)
	waitFor(t, 30*time.Second, "the SMS", func() bool { return len(w.twilio.Messages()) == 1 })
	if got := w.twilio.Messages()[0].Body; !strings.HasPrefix(got, "v2: Borrower 0 owes 100.00") {
		t.Fatalf("SMS body %q does not use the published version", got)
	}
	waitFor(t, 10*time.Second, "the sent record", func() bool { return len(recordsFor(audit, "b0", domain.Sent)) == 1 })
	if v := recordsFor(audit, "b0", domain.Sent)[0].TemplateVersion; v != 2 {
		t.Fatalf("sent record template_version = %d, want 2", v)
	}
}

// TestCollectionPolicyTemplateNeedsOptOutWithoutCategory: the template
// "tick" is sent by the collection policy "tick"; a version whose file
// declares no category is still refused without opt-out wording, on save
// and in a draft preview, and accepted with it.
func TestCollectionPolicyTemplateNeedsOptOutWithoutCategory(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.start(t, w.config(t, 0, "sms"), "A")
	base := "http://" + a.Addr()
	sms := func(text string) map[string]any {
		return map[string]any{"sms": map[string]string{"en-US": text}}
	}
	var e struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}

	status, body := do(t, http.MethodPut, base+"/v1/templates/tick", "", map[string]any{"channels": sms("Hi {{.Borrower.Name}}, please repay.")})
	_ = json.Unmarshal(body, &e)
	if status != http.StatusBadRequest || e.Error.Field != "channels.sms.en-US" || !strings.Contains(e.Error.Message, "opt out") {
		t.Fatalf("uncategorised version without opt-out wording: %d %s, want 400 naming channels.sms.en-US", status, body)
	}
	status, body = do(t, http.MethodPost, base+"/v1/templates/tick/preview", "", map[string]any{
		"channel": "sms", "channels": sms("Hi {{.Borrower.Name}}, please repay."), "category": "",
	})
	if status != http.StatusBadRequest || !strings.Contains(string(body), "opt out") {
		t.Fatalf("draft preview without opt-out wording: %d %s, want 400", status, body)
	}
	status, body = do(t, http.MethodPut, base+"/v1/templates/tick", "", map[string]any{"channels": sms("Hi {{.Borrower.Name}}, please repay. Reply STOP to opt out.")})
	if status != http.StatusOK || !strings.Contains(string(body), `"version":2`) {
		t.Fatalf("uncategorised version with opt-out wording: %d %s, want version 2", status, body)
	}
}
