package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// eventsErr is the error body of POST /v1/events: the error, the index of
// the event at fault, and how many events before it were applied.
type eventsErr struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Index   *int   `json:"index"`
	} `json:"error"`
	Accepted *int `json:"accepted"`
}

func wantEventsError(t *testing.T, r response, status int, field string, index, accepted int) {
	t.Helper()
	wantError(t, r, status)
	var e eventsErr
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Field != field {
		t.Errorf("field = %q, want %q (%s)", e.Error.Field, field, e.Error.Message)
	}
	if e.Error.Index == nil || *e.Error.Index != index {
		t.Errorf("index missing or wrong in %s, want %d", r.body, index)
	}
	if e.Accepted == nil || *e.Accepted != accepted {
		t.Errorf("accepted missing or wrong in %s, want %d", r.body, accepted)
	}
	if len(r.body) > 1000 {
		t.Errorf("error body of %d bytes echoes the input", len(r.body))
	}
}

func paymentEvent(eventID, borrowerID, loanID string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":"payment.received",
		"data":{"borrower_id":%q,"loan_id":%q,"amount":"10.00","remaining":"0"}}`, eventID, borrowerID, loanID)
}

func TestIntakeAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)

	t.Run("8 MB name", func(t *testing.T) {
		t.Parallel()
		r := b.post(t, "/v1/events", tokPublisher, borrowerEvent("ev-huge", "b-huge", strings.Repeat("n", 8_000_000)))
		wantEventsError(t, r, http.StatusBadRequest, "data.name", 0, 0)
		wantError(t, b.get(t, "/v1/borrowers/b-huge", tokSupport), http.StatusNotFound)
	})

	t.Run("batch stops at the failing event", func(t *testing.T) {
		t.Parallel()
		batch := "[" + loanEvent("ev-bs-1", "b-bs", "l-bs-1", "2030-01-15") + "," +
			paymentEvent("ev-bs-2", "b-bs", "l-unknown") + "," +
			loanEvent("ev-bs-3", "b-bs", "l-bs-3", "2030-01-15") + "]"
		r := b.do(t, http.MethodPost, "/v1/events", tokPublisher, strings.NewReader(batch), "application/cloudevents-batch+json")
		wantEventsError(t, r, http.StatusNotFound, "[1].data.loan_id", 1, 1)
		view := decode[struct {
			Cases []struct {
				LoanID string `json:"loan_id"`
			} `json:"cases"`
		}](t, b.get(t, "/v1/borrowers/b-bs", tokSupport))
		if len(view.Cases) != 1 || view.Cases[0].LoanID != "l-bs-1" {
			t.Errorf("cases = %+v, want only the event before the failure applied", view.Cases)
		}
	})

	t.Run("validation names the field and the event", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			body  string
			field string
			index int
		}{
			{"unknown currency", strings.Replace(loanEvent("ev-v1", "b-v", "l-v", "2030-01-15"), `"CNY"`, `"XYZ"`, 1), "data.currency", 0},
			{"due date year 1", loanEvent("ev-v2", "b-v", "l-v", "0001-01-01"), "data.due_date", 0},
			{"negative amount", strings.Replace(loanEvent("ev-v3", "b-v", "l-v", "2030-01-15"), `"1200.00"`, `"-1200.00"`, 1), "data.amount_due", 0},
			{"zone Factory", strings.Replace(borrowerEvent("ev-v4", "b-v", "V"), "Asia/Shanghai", "Factory", 1), "data.timezone", 0},
			{"id with a zero-width space", borrowerEvent("ev-v5", "b\u200bv", "V"), "data.borrower_id", 0},
			{"third of a batch", "[" + borrowerEvent("ev-v6", "b-v", "V") + "," + borrowerEvent("ev-v7", "b-v", "V") + "," +
				loanEvent("ev-v8", "b-v", "l-v", "2100-01-01") + "]", "[2].data.due_date", 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				wantEventsError(t, b.post(t, "/v1/events", tokPublisher, tt.body), http.StatusBadRequest, tt.field, tt.index, 0)
			})
		}
		// Refused before anything was applied.
		wantError(t, b.get(t, "/v1/borrowers/b-v", tokSupport), http.StatusNotFound)
	})

	t.Run("mute bodies", func(t *testing.T) {
		t.Parallel()
		b.addBorrower(t, "b-mutebody")
		tests := []struct {
			name  string
			body  string
			code  string
			field string
		}{
			{"unknown key", `{"reason":"x","untill":"2030-01-01T00:00:00Z"}`, "unknown_field", "untill"},
			{"reason too long", fmt.Sprintf(`{"reason":%q}`, strings.Repeat("r", 1001)), "invalid_field", "reason"},
			{"wrong type", `{"reason":"x","channels":"sms"}`, "invalid_field", "channels"},
			{"two values", `{"reason":"x"}{"reason":"y"}`, "invalid_json", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := wantError(t, b.post(t, "/v1/borrowers/b-mutebody/mutes", tokSupport, tt.body), http.StatusBadRequest)
				if e.Error.Code != tt.code || e.Error.Field != tt.field {
					t.Errorf("error = %+v, want code %q field %q", *e.Error, tt.code, tt.field)
				}
			})
		}
	})

	t.Run("template note too long", func(t *testing.T) {
		t.Parallel()
		body := `{"category":"collection","channels":{"sms":{"en-US":"Hi {{.Borrower.Name}}. Reply STOP"}}}`
		r := b.do(t, http.MethodPut, "/v1/templates/t-note?note="+url.QueryEscape(strings.Repeat("n", 1001)), tokOps,
			strings.NewReader(body), "application/json")
		e := wantError(t, r, http.StatusBadRequest)
		if e.Error.Field != "note" {
			t.Errorf("field = %q, want note", e.Error.Field)
		}
	})
}
