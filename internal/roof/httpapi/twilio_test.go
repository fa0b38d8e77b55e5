package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/forbear/forbear/dispatcher/callback"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
)

// TestStatusCallbackRefusesABadCallDuration: a signed status callback
// whose CallDuration is not a whole number of seconds gets 400 naming the
// field, and a warning in the log; a good one gets 204.
func TestStatusCallbackRefusesABadCallDuration(t *testing.T) {
	t.Parallel()
	const authToken, public = "tw-auth-token", "https://forbear.example"
	log, hook := logtest.NewNullLogger()
	b := setupWith(t, roleTokens, func(c *config.Config) {
		c.HTTP.PublicURL = public
		c.Providers.Voice.Twilio.AuthToken = authToken
	}, log)
	call := domain.Reminder{ID: "loan-1/call/0/voice", BorrowerID: "b-call", LoanID: "loan-1", Channel: domain.Voice}
	path := "/v1/providers/twilio/status?" + callback.Query(call)
	send := func(duration string) response {
		form := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {duration}}
		req, err := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, public+path, form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return response{status: res.StatusCode, header: res.Header, body: body}
	}
	for _, bad := range []string{"abc", "-5", "42.0"} {
		hook.Reset()
		e := wantError(t, send(bad), http.StatusBadRequest)
		if e.Error.Field != "CallDuration" {
			t.Errorf("CallDuration %q: field %q, want CallDuration", bad, e.Error.Field)
		}
		warned := false
		for _, entry := range hook.AllEntries() {
			if entry.Level == logrus.WarnLevel && entry.Data["field"] == "CallDuration" {
				warned = true
			}
		}
		if !warned {
			t.Errorf("CallDuration %q: no warning naming the field in the log", bad)
		}
	}
	if r := send("42"); r.status != http.StatusNoContent {
		t.Fatalf("CallDuration 42: %d %s, want 204", r.status, r.body)
	}
}
