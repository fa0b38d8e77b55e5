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
)

// TestConsoleOpsPagesAreWired: the instance gives the console's ops pages
// the template store with the policies' uses (a template the collection
// policy "tick" sends is refused without opt-out wording, whatever its
// category), the borrower records (a preview for a real borrower), the
// policies and the contact rules.
func TestConsoleOpsPagesAreWired(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.start(t, w.config(t, 0, "sms"), "A")
	base := "http://" + a.Addr()
	loadBorrowers(t, base, 1, 0)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	status, editor := get("/console/templates/tick")
	if status != http.StatusOK {
		t.Fatalf("editor: %d", status)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(editor)[1]

	form := url.Values{"csrf": {csrf}, "category": {""}, "text.sms.en-US.body": {"Pay now, {{.Borrower.Name}}."}}
	res, err := browser.PostForm(base+"/console/templates/tick", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(string(body)), `policy "tick" sends this template as collection`) {
		t.Errorf("saving without opt-out wording: %d, want 400 naming the policy", res.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/console/templates/tick/preview",
		strings.NewReader(`{"borrower_id":"b0","channels":{"sms":{"en-US":"Hi {{.Borrower.Name}}, {{.Loan.ID}}. Reply STOP"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var preview struct {
		Previews []struct{ Text, Error string } `json:"previews"`
	}
	_ = json.NewDecoder(res.Body).Decode(&preview)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(preview.Previews) != 1 || preview.Previews[0].Text != "Hi Borrower 0, l0. Reply STOP" {
		t.Errorf("preview for borrower b0: %d %+v", res.StatusCode, preview)
	}

	status, list := get("/console/templates")
	if status != http.StatusOK || !strings.Contains(list, `data-testid="template-row-tick"`) || !strings.Contains(list, "tick (collection)") {
		t.Errorf("templates list: %d, want tick sent by policy tick", status)
	}
	status, policies := get("/console/policies")
	if status != http.StatusOK || !strings.Contains(policies, `id="timeline-tick"`) ||
		!strings.Contains(policies, "No send window") || !strings.Contains(policies, "set by compliance.caps") {
		t.Errorf("policies page: %d, want policy tick and the configured rules", status)
	}
}
