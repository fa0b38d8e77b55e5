package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// callTo is the call the fake Twilio got for a number (the last one).
func callTo(w *world, number string) (faketwilio.Record, bool) {
	var out faketwilio.Record
	found := false
	for _, c := range w.twilio.Calls() {
		if c.To == number {
			out, found = c, true
		}
	}
	return out, found
}

// contactsOf reads the contact ledger's attempts on the borrower page.
func contactsOf(t *testing.T, base, borrower string) []compliance.Attempt {
	t.Helper()
	status, body := do(t, http.MethodGet, base+"/v1/borrowers/"+borrower, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET borrower %s: %d %s", borrower, status, body)
	}
	var v struct {
		Contacts []compliance.Attempt `json:"contacts"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Contacts
}

// TestAnsweringMachineGetsTheVoicemail: a call whose template has a
// voicemail asks Twilio for answering-machine detection and takes its
// TwiML from forbear once answered: an answering machine gets the
// voicemail text and never the script, a person gets the script, a fax
// gets nothing said. A call whose template has no voicemail keeps its
// inline script. The machine's completed call is a voicemail in the
// contact ledger (not a conversation), and its record carries the
// voicemail text.
func TestAnsweringMachineGetsTheVoicemail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.start(t, w.config(t, 0, "voice"), "A")
	base := "http://" + a.Addr()
	machine, human, fax := phone(1), phone(2), phone(3)
	w.twilio.AnswerAs(machine, "machine_end_beep")
	w.twilio.AnswerAs(human, "human")
	w.twilio.AnswerAs(fax, "fax")

	// Without a voicemail text: the script inline, no detection.
	loadBorrowers(t, base, 1, 0)
	waitFor(t, 30*time.Second, "the call without voicemail", func() bool { _, ok := callTo(w, phone(0)); return ok })
	plain, _ := callTo(w, phone(0))
	if plain.Twiml == "" || plain.URL != "" || plain.MachineDetection != "" {
		t.Errorf("call without voicemail: twiml %q, url %q, detection %q; want the script inline", plain.Twiml, plain.URL, plain.MachineDetection)
	}

	const voicemail = "Hello {{.Borrower.Name}}, this is Sam from Acme Services. Please call us back at 800-555-0100."
	status, body := do(t, http.MethodPut, base+"/v1/templates/tick", "", map[string]any{
		"category":  "collection",
		"channels":  map[string]any{"voice": map[string]string{"en-US": "Hello {{.Borrower.Name}}. Your loan {{.Loan.ID}} is overdue."}},
		"voicemail": map[string]string{"en-US": voicemail},
	})
	if status != http.StatusOK {
		t.Fatalf("publish the voicemail: %d %s", status, body)
	}
	loadBorrowers(t, base, 3, 1)
	waitFor(t, 30*time.Second, "three calls answered", func() bool {
		for _, n := range []string{machine, human, fax} {
			if c, ok := callTo(w, n); !ok || c.Answer == nil {
				return false
			}
		}
		return true
	})
	machineCall, _ := callTo(w, machine)
	humanCall, _ := callTo(w, human)
	faxCall, _ := callTo(w, fax)
	for _, c := range []faketwilio.Record{machineCall, humanCall, faxCall} {
		if c.Twiml != "" || c.MachineDetection != "DetectMessageEnd" || !strings.Contains(c.URL, "/v1/providers/twilio/voice?") {
			t.Errorf("call to %s: twiml %q, url %q, detection %q; want forbear's URL with detection", c.To, c.Twiml, c.URL, c.MachineDetection)
		}
		if c.Answer.Status != http.StatusOK {
			t.Errorf("call to %s: the URL answered %d %q (%s)", c.To, c.Answer.Status, c.Answer.TwiML, c.Answer.Err)
		}
	}
	if got := machineCall.Answer.TwiML; !strings.Contains(got, "Hello Borrower 1, this is Sam from Acme Services. Please call us back at 800-555-0100.") ||
		strings.Contains(got, "overdue") || strings.Contains(got, "l1") {
		t.Errorf("the answering machine got %q, want the voicemail and nothing of the script", got)
	}
	if got := humanCall.Answer.TwiML; !strings.Contains(got, "Hello Borrower 2. Your loan l2 is overdue.") || strings.Contains(got, "Acme") {
		t.Errorf("the person got %q, want the script", got)
	}
	if got := faxCall.Answer.TwiML; strings.Contains(got, "<Say") || !strings.Contains(got, "<Hangup") {
		t.Errorf("the fax got %q, want nothing said", got)
	}

	ctx := testkit.Context(t, 30*time.Second)
	if err := w.twilio.CallEnded(ctx, machineCall, "completed", 25); err != nil {
		t.Fatal(err)
	}
	if err := w.twilio.CallEnded(ctx, humanCall, "completed", 40); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "both outcomes in the trail", func() bool {
		_, ok1 := withStatus(deliveries(t, base, "b1"), domain.Delivered)
		_, ok2 := withStatus(deliveries(t, base, "b2"), domain.Delivered)
		return ok1 && ok2
	})
	left, _ := withStatus(deliveries(t, base, "b1"), domain.Delivered)
	if !strings.Contains(left.Reason, "voicemail") || !strings.Contains(left.Text, "Please call us back at 800-555-0100.") {
		t.Errorf("the machine's outcome record: reason %q, text %q; want a voicemail with its text", left.Reason, left.Text)
	}
	talked, _ := withStatus(deliveries(t, base, "b2"), domain.Delivered)
	if !strings.Contains(talked.Reason, "connected") {
		t.Errorf("the person's outcome record: reason %q, want a connected call", talked.Reason)
	}
	outcome := func(borrower string) string {
		for _, c := range contactsOf(t, base, borrower) {
			if c.Channel == domain.Voice {
				return c.Outcome
			}
		}
		return ""
	}
	if got := outcome("b1"); got != compliance.OutcomeVoicemail {
		t.Errorf("ledger outcome of the machine's call = %q, want %q", got, compliance.OutcomeVoicemail)
	}
	if got := outcome("b2"); got != compliance.OutcomeConnected {
		t.Errorf("ledger outcome of the person's call = %q, want %q", got, compliance.OutcomeConnected)
	}
}
