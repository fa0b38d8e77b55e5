package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func recordsFor(l *auditLog, borrower string, status domain.Status) []domain.Delivery {
	var out []domain.Delivery
	for _, d := range l.all() {
		if d.BorrowerID == borrower && d.Status == status {
			out = append(out, d)
		}
	}
	return out
}

func postsTo(w *world, phone string) int {
	n := 0
	for _, r := range w.twilio.Requests() {
		if r.Method == http.MethodPost && r.To == phone {
			n++
		}
	}
	return n
}

// TestTwilioErrorsAreHandledByKind drives the SMS worker through Twilio's
// error classes: 21211 fails once and is never retried, 429/20429 and 5xx
// are retried until sent, 21610 records an SMS opt-out.
func TestTwilioErrorsAreHandledByKind(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	audit := watchAudit(t, w.nats.Conn)
	w.twilio.FailNext(phone(0), 400, 21211, 1)
	w.twilio.FailNext(phone(1), 429, 20429, 2)
	w.twilio.FailNext(phone(2), 400, 21610, 1)
	w.twilio.FailNext(phone(3), 503, 20500, 1)
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 4, 0)

	waitFor(t, 30*time.Second, "b0 failed", func() bool { return len(recordsFor(audit, "b0", domain.Failed)) == 1 })
	if got := recordsFor(audit, "b0", domain.Failed)[0].Reason; !strings.Contains(got, "21211") {
		t.Errorf("b0 failure reason %q does not name 21211", got)
	}
	waitFor(t, 30*time.Second, "b1 sent after two 429s", func() bool { return len(recordsFor(audit, "b1", domain.Sent)) == 1 })
	waitFor(t, 30*time.Second, "b3 sent after a 503", func() bool { return len(recordsFor(audit, "b3", domain.Sent)) == 1 })
	waitFor(t, 30*time.Second, "b2 opted out", func() bool { return len(recordsFor(audit, "b2", domain.Failed)) == 1 })
	if n := postsTo(w, phone(0)); n != 1 {
		t.Errorf("21211: %d requests, want 1 (never retried)", n)
	}
	if n := postsTo(w, phone(1)); n != 3 {
		t.Errorf("429: %d requests, want 3 (two refusals, then sent)", n)
	}
	if n := postsTo(w, phone(3)); n != 2 {
		t.Errorf("503: %d requests, want 2", n)
	}
	status, body := do(t, http.MethodGet, base+"/v1/borrowers/b2", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET borrower: %d", status)
	}
	var view struct {
		Suppressions domain.Suppressions `json:"suppressions"`
	}
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	if len(view.Suppressions.OptOuts) != 1 || view.Suppressions.OptOuts[0].Channel != domain.SMS || view.Suppressions.OptOuts[0].Address != phone(2) {
		t.Fatalf("opt-outs after 21610 = %+v, want the SMS number", view.Suppressions.OptOuts)
	}
}

// TestEmailUnsubscribeLink follows the List-Unsubscribe link of a real
// email: a GET only shows the form, the one-click POST opts the address
// out, and a tampered link is refused.
func TestEmailUnsubscribeLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "email")
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	cfg.HTTP.PublicURL = base
	loadBorrowers(t, base, 1, 0)
	waitFor(t, 30*time.Second, "the email", func() bool { return w.smtp.Count() == 1 })
	msg := w.smtp.Messages()[0]
	header := msg.Header.Get("List-Unsubscribe")
	if !strings.HasPrefix(header, "<http://") || !strings.HasSuffix(header, ">") {
		t.Fatalf("List-Unsubscribe = %q", header)
	}
	link, err := url.Parse(strings.Trim(header, "<>"))
	if err != nil {
		t.Fatal(err)
	}
	// The link names the instance's public URL; reach it on the listener.
	target := base + link.Path + "?" + link.RawQuery
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<form") {
		t.Fatalf("GET unsubscribe: %d %s", resp.StatusCode, page)
	}
	if optOuts(t, base, "b0") != 0 {
		t.Fatalf("a GET of the link unsubscribed the borrower")
	}
	resp, err = http.Post(target, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	if optOuts(t, base, "b0") != 1 {
		t.Fatalf("the one-click POST did not opt the address out")
	}
	q := link.Query()
	q.Set("a", "someone-else@example.com")
	resp, err = http.Post(base+link.Path+"?"+q.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tampered link: %d, want 403", resp.StatusCode)
	}
}

func optOuts(t *testing.T, base, borrower string) int {
	t.Helper()
	_, body := do(t, http.MethodGet, base+"/v1/borrowers/"+borrower, "", nil)
	var view struct {
		Suppressions domain.Suppressions `json:"suppressions"`
	}
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	return len(view.Suppressions.OptOuts)
}

// TestBorrowerTokenReadsOnlyItsOwnInbox: support mints a borrower token;
// it reads that borrower's inbox and nothing else.
func TestBorrowerTokenReadsOnlyItsOwnInbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "inapp")
	cfg.Auth.Tokens = []config.Token{
		{Name: "backend", Token: "t-backend-1", Roles: []string{"publisher"}},
		{Name: "desk", Token: "t-desk-123", Roles: []string{"support"}},
	}
	a := w.start(t, cfg, "A")
	base := "http://" + a.Addr()
	loadBorrowersAs(t, base, "t-backend-1", 2, 0)
	waitFor(t, 30*time.Second, "an inbox message for b0", func() bool {
		_, body := do(t, http.MethodGet, base+"/v1/borrowers/b0/inbox", "t-desk-123", nil)
		return strings.Contains(string(body), `"title"`)
	})
	status, body := do(t, http.MethodPost, base+"/v1/borrowers/b0/token", "t-desk-123", nil)
	if status != http.StatusCreated {
		t.Fatalf("mint token: %d %s", status, body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(body, &tok)
	tests := []struct {
		path string
		want int
	}{
		{"/v1/borrowers/b0/inbox", http.StatusOK},
		{"/v1/borrowers/b1/inbox", http.StatusForbidden},
		{"/v1/borrowers/b0", http.StatusForbidden},
		{"/v1/borrowers/b0/deliveries", http.StatusForbidden},
	}
	for _, tt := range tests {
		if status, body := do(t, http.MethodGet, base+tt.path, tok.Token, nil); status != tt.want {
			t.Errorf("GET %s with b0's token: %d %s, want %d", tt.path, status, body, tt.want)
		}
	}
	if status, _ := do(t, http.MethodGet, base+"/v1/borrowers/b0/inbox", tok.Token+"x", nil); status != http.StatusUnauthorized {
		t.Errorf("tampered borrower token: %d, want 401", status)
	}
}
