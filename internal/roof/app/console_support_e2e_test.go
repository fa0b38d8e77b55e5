package app_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
)

// TestConsoleSupportPagesAreWired: the instance gives the console's
// support pages its support read model, audit trail, intake and inbox.
// The borrower page shows the SMS the worker sent with its rendered text
// (the number masked), the inbox page the in-app message the worker put
// there, the search finds the borrower by number, and a mute made through
// the page's form is the API's mute, lifted again through the
// confirmation page.
func TestConsoleSupportPagesAreWired(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.start(t, w.config(t, 0, "sms", "inapp"), "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 1, 0)
	waitFor(t, 30*time.Second, "b0's SMS sent and in-app message delivered", func() bool {
		_, sent := withStatus(deliveries(t, base, "b0"), domain.Sent)
		_, delivered := withStatus(deliveries(t, base, "b0"), domain.Delivered)
		return sent && delivered
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		res, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, html.UnescapeString(string(body))
	}

	if status, header, _ := get("/console/search?q=" + url.QueryEscape("+1 555 000 0000")); status != http.StatusSeeOther || header.Get("Location") != "/console/borrowers/b0" {
		t.Errorf("search by number: %d to %q, want b0's page", status, header.Get("Location"))
	}

	status, _, page := get("/console/borrowers/b0")
	if status != http.StatusOK {
		t.Fatalf("borrower page: %d", status)
	}
	if !strings.Contains(page, `data-status="sent" data-channel="sms"`) || !strings.Contains(page, "Hi Borrower 0, loan l0 is overdue. Reply STOP to opt out.") {
		t.Errorf("the borrower page does not show the sent SMS with its text")
	}
	if strings.Contains(page, phone(0)) || !strings.Contains(page, logging.Phone(phone(0))) {
		t.Errorf("the borrower page does not mask the number %s", phone(0))
	}
	if status, _, inbox := get("/console/borrowers/b0/inbox"); status != http.StatusOK || !strings.Contains(inbox, "Loan l0 is overdue") ||
		!strings.Contains(inbox, "Please repay 100.00 in the app.") {
		t.Errorf("inbox page: %d, want the in-app message", status)
	}

	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	res, err := browser.PostForm(base+"/console/borrowers/b0/mutes", url.Values{"csrf": {csrf}, "channels": {"sms"}, "until": {"1d"}, "reason": {"called in"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	muteID := loc.Query().Get("muted")
	if res.StatusCode != http.StatusSeeOther || muteID == "" {
		t.Fatalf("mute: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	mutes := func() []domain.Mute {
		_, body := do(t, http.MethodGet, base+"/v1/borrowers/b0", "", nil)
		var v struct {
			Suppressions domain.Suppressions `json:"suppressions"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v.Suppressions.Mutes
	}
	if m := mutes(); len(m) != 1 || m[0].ID != muteID || m[0].By != "open" || m[0].Until == nil {
		t.Fatalf("the API lists mutes %+v, want %s by open with an end", m, muteID)
	}
	if _, _, ack := get(loc.RequestURI()); !strings.Contains(ack, "No reminder in its scope (SMS) starts after this moment") {
		t.Errorf("the borrower page does not acknowledge the mute")
	}

	status, _, confirm := get("/console/borrowers/b0/mutes/" + muteID + "/unmute")
	if status != http.StatusOK || !strings.Contains(confirm, "called in") {
		t.Fatalf("unmute confirmation: %d", status)
	}
	res, err = browser.PostForm(base+"/console/borrowers/b0/mutes/"+muteID+"/unmute", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || len(mutes()) != 0 {
		t.Errorf("unmute: %d, mutes left %+v", res.StatusCode, mutes())
	}
}
