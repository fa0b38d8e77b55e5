package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/testkit"
)

func TestAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-auth")

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			method string
			path   string
			token  string
			body   string
			want   int
		}{
			{name: "missing token", method: "GET", path: "/v1/borrowers/b-auth", want: 401},
			{name: "wrong token", method: "GET", path: "/v1/borrowers/b-auth", token: "t-nobody", want: 401},
			{name: "missing token on events", method: "POST", path: "/v1/events", body: borrowerEvent("ev-x", "x", "X"), want: 401},
			{name: "missing token on outbox", method: "GET", path: "/v1/outbox", want: 401},
			{name: "publisher reads a borrower", method: "GET", path: "/v1/borrowers/x", token: tokPublisher, want: 403},
			{name: "publisher reads deliveries", method: "GET", path: "/v1/borrowers/b-auth/deliveries", token: tokPublisher, want: 403},
			{name: "ops reads a borrower", method: "GET", path: "/v1/borrowers/b-auth", token: tokOps, want: 403},
			{name: "ops mutes", method: "POST", path: "/v1/borrowers/b-auth/mutes", token: tokOps, body: `{"reason":"x"}`, want: 403},
			{name: "support posts events", method: "POST", path: "/v1/events", token: tokSupport, body: borrowerEvent("ev-y", "y", "Y"), want: 403},
			{name: "ops posts events", method: "POST", path: "/v1/events", token: tokOps, body: borrowerEvent("ev-z", "z", "Z"), want: 403},
			{name: "publisher reads the outbox", method: "GET", path: "/v1/outbox", token: tokPublisher, want: 403},
			{name: "support reads a borrower", method: "GET", path: "/v1/borrowers/b-auth", token: tokSupport, want: 200},
			{name: "support reads the outbox", method: "GET", path: "/v1/outbox", token: tokSupport, want: 200},
			{name: "publisher posts events", method: "POST", path: "/v1/events", token: tokPublisher, body: borrowerEvent("ev-p", "b-pub", "P"), want: 200},
			{name: "admin reads a borrower", method: "GET", path: "/v1/borrowers/b-auth", token: tokAdmin, want: 200},
			{name: "admin reads deliveries", method: "GET", path: "/v1/borrowers/b-auth/deliveries", token: tokAdmin, want: 200},
			{name: "admin reads the inbox", method: "GET", path: "/v1/borrowers/b-auth/inbox", token: tokAdmin, want: 200},
			{name: "admin reads the outbox", method: "GET", path: "/v1/outbox", token: tokAdmin, want: 200},
			{name: "admin posts events", method: "POST", path: "/v1/events", token: tokAdmin, body: borrowerEvent("ev-a", "b-admin", "A"), want: 200},
			{name: "admin mutes", method: "POST", path: "/v1/borrowers/b-auth/mutes", token: tokAdmin, body: `{"channels":["voice"],"reason":"admin"}`, want: 201},
			{name: "health needs no token", method: "GET", path: "/healthz", want: 200},
			{name: "readiness needs no token", method: "GET", path: "/readyz", want: 200},
			{name: "metrics need no token", method: "GET", path: "/metrics", want: 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				r := b.do(t, tt.method, tt.path, tt.token, body, "application/json")
				if tt.want >= 400 {
					e := wantError(t, r, tt.want)
					wantCode := map[int]string{401: "unauthorized", 403: "forbidden"}[tt.want]
					if e.Error.Code != wantCode {
						t.Errorf("code = %q, want %q", e.Error.Code, wantCode)
					}
					if tt.want == 401 && r.header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
					return
				}
				if r.status != tt.want {
					t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
				}
			})
		}
	})

	t.Run("authorization header", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			header string
			want   int
		}{
			{header: "Bearer " + tokAdmin, want: http.StatusOK},
			{header: "bearer " + tokAdmin, want: http.StatusOK},
			{header: "BEARER " + tokAdmin, want: http.StatusOK},
			{header: tokAdmin, want: http.StatusUnauthorized},
			{header: "Basic " + tokAdmin, want: http.StatusUnauthorized},
			{header: "Bearer", want: http.StatusUnauthorized},
			{header: "Bearer ", want: http.StatusUnauthorized},
			{header: "Bearer  " + tokAdmin, want: http.StatusUnauthorized},
			{header: "Bearer" + tokAdmin, want: http.StatusUnauthorized},
			{header: "Bearer " + tokAdmin + "x", want: http.StatusUnauthorized},
			{header: "Bearer " + tokAdmin[:len(tokAdmin)-1], want: http.StatusUnauthorized},
		}
		for _, tt := range tests {
			ctx := testkit.Context(t, 10*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/v1/borrowers/b-auth", nil)
			req.Header.Set("Authorization", tt.header)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("Authorization %q: status %d, want %d", tt.header, res.StatusCode, tt.want)
			}
		}
	})

	t.Run("unknown borrower", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/v1/borrowers/nobody", "/v1/borrowers/nobody/deliveries", "/v1/borrowers/nobody/inbox"} {
			e := wantError(t, b.get(t, path, tokSupport), http.StatusNotFound)
			if e.Error.Code != "not_found" {
				t.Errorf("%s: code = %q, want not_found", path, e.Error.Code)
			}
		}
		wantError(t, b.post(t, "/v1/borrowers/nobody/mutes", tokSupport, `{"reason":"x"}`), http.StatusNotFound)
		wantError(t, b.do(t, http.MethodDelete, "/v1/borrowers/nobody/mutes/mute_1", tokSupport, nil, ""), http.StatusNotFound)
	})

	t.Run("unknown route", func(t *testing.T) {
		t.Parallel()
		wantError(t, b.get(t, "/v1/nothing-here", tokAdmin), http.StatusNotFound)
	})

	t.Run("events", func(t *testing.T) {
		t.Parallel()
		single := borrowerEvent("ev-single", "b-events", "Ada")
		r := b.post(t, "/v1/events", tokPublisher, single)
		if r.status != http.StatusOK {
			t.Fatalf("single: %d %s", r.status, r.body)
		}
		if got := decode[map[string]int](t, r); got["accepted"] != 1 || len(got) != 1 {
			t.Errorf("single: body %s, want {\"accepted\":1}", r.body)
		}

		batch := "[" + loanEvent("ev-loan-1", "b-events", "l-events-1", "2030-01-15") + "," +
			loanEvent("ev-loan-2", "b-events", "l-events-2", "2030-02-15") + "]"
		r = b.do(t, http.MethodPost, "/v1/events", tokPublisher, strings.NewReader(batch), "application/cloudevents-batch+json")
		if r.status != http.StatusOK {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		if got := decode[map[string]int](t, r); got["accepted"] != 2 {
			t.Errorf("batch: body %s, want {\"accepted\":2}", r.body)
		}

		r = b.get(t, "/v1/borrowers/b-events", tokSupport)
		if r.status != http.StatusOK {
			t.Fatalf("get borrower: %d %s", r.status, r.body)
		}
		view := decode[struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Cases []struct {
				LoanID string `json:"loan_id"`
			} `json:"cases"`
			Next []json.RawMessage `json:"next_reminders"`
		}](t, r)
		if view.ID != "b-events" || view.Name != "Ada" || len(view.Cases) != 2 {
			t.Errorf("borrower after events = %s", r.body)
		}
		if view.Next == nil {
			t.Errorf("next_reminders is null, want a list: %s", r.body)
		}
	})

	t.Run("bad events", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name      string
			body      string
			wantField string
		}{
			{name: "bad due date", body: loanEvent("ev-bad-1", "b-bad", "l-bad", "15/01/2030"), wantField: "data.due_date"},
			{name: "no id", body: `{"specversion":"1.0","source":"t","type":"borrower.upserted","data":{"borrower_id":"b"}}`, wantField: "id"},
			{name: "bad specversion", body: `{"specversion":"0.3","id":"e","source":"t","type":"borrower.upserted","data":{"borrower_id":"b"}}`, wantField: "specversion"},
			{name: "unknown type", body: `{"specversion":"1.0","id":"e","source":"t","type":"loan.exploded","data":{"borrower_id":"b"}}`, wantField: "type"},
			{name: "bad phone", body: `{"specversion":"1.0","id":"e","source":"t","type":"borrower.upserted","data":{"borrower_id":"b","phone":"12345"}}`, wantField: "data.phone"},
			{name: "batch names the index", body: "[" + loanEvent("ev-bad-2", "b-bad", "l-bad-2", "2030-01-01") + "," + loanEvent("ev-bad-3", "b-bad", "l-bad-3", "soon") + "]", wantField: "[1].data.due_date"},
			{name: "not JSON", body: `{"specversion":`},
			{name: "empty body", body: ``},
			{name: "empty batch", body: `[]`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := wantError(t, b.post(t, "/v1/events", tokPublisher, tt.body), http.StatusBadRequest)
				if e.Error.Field != tt.wantField {
					t.Errorf("field = %q, want %q (%s)", e.Error.Field, tt.wantField, e.Error.Message)
				}
			})
		}
		// A batch is all or nothing: its valid first event was not applied.
		wantError(t, b.get(t, "/v1/borrowers/b-bad", tokSupport), http.StatusNotFound)
	})

	t.Run("repeated event id is applied once", func(t *testing.T) {
		t.Parallel()
		for i, name := range []string{"First", "Second"} {
			r := b.post(t, "/v1/events", tokPublisher, borrowerEvent("ev-dup", "b-dup", name))
			if r.status != http.StatusOK {
				t.Fatalf("post %d: %d %s", i, r.status, r.body)
			}
			if got := decode[map[string]int](t, r); got["accepted"] != 1 {
				t.Errorf("post %d: body %s, want {\"accepted\":1}", i, r.body)
			}
		}
		view := decode[map[string]any](t, b.get(t, "/v1/borrowers/b-dup", tokSupport))
		if view["name"] != "First" {
			t.Errorf("name = %v, want First (the repeat must not be applied)", view["name"])
		}
	})

	t.Run("mutes", func(t *testing.T) {
		t.Parallel()
		b.addBorrower(t, "b-mute")
		until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r := b.post(t, "/v1/borrowers/b-mute/mutes", tokSupport,
			fmt.Sprintf(`{"channels":["sms","voice"],"until":%q,"reason":"disputed"}`, until))
		if r.status != http.StatusCreated {
			t.Fatalf("create mute: %d %s", r.status, r.body)
		}
		m := decode[struct {
			ID       string   `json:"id"`
			Channels []string `json:"channels"`
			Reason   string   `json:"reason"`
			By       string   `json:"by"`
		}](t, r)
		if m.ID == "" || m.Reason != "disputed" || len(m.Channels) != 2 || m.By != "desk" {
			t.Errorf("mute = %s, want an id, the channels, the reason and by=desk", r.body)
		}

		view := b.get(t, "/v1/borrowers/b-mute", tokSupport)
		if !bytes.Contains(view.body, []byte(m.ID)) {
			t.Errorf("borrower view does not list mute %s: %s", m.ID, view.body)
		}

		r = b.do(t, http.MethodDelete, "/v1/borrowers/b-mute/mutes/"+m.ID, tokSupport, nil, "")
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("delete mute: %d %s, want 204 and no body", r.status, r.body)
		}
		wantError(t, b.do(t, http.MethodDelete, "/v1/borrowers/b-mute/mutes/"+m.ID, tokSupport, nil, ""), http.StatusNotFound)
		wantError(t, b.do(t, http.MethodDelete, "/v1/borrowers/b-mute/mutes/mute_unknown", tokSupport, nil, ""), http.StatusNotFound)

		view = b.get(t, "/v1/borrowers/b-mute", tokSupport)
		if bytes.Contains(view.body, []byte(m.ID)) {
			t.Errorf("borrower view still lists deleted mute %s: %s", m.ID, view.body)
		}
	})

	t.Run("bad mutes", func(t *testing.T) {
		t.Parallel()
		b.addBorrower(t, "b-badmute")
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		tests := []struct {
			name      string
			body      string
			wantField string
		}{
			{name: "unknown channel", body: `{"channels":["fax"],"reason":"x"}`, wantField: "channels[0]"},
			{name: "no reason", body: `{"channels":["sms"]}`, wantField: "reason"},
			{name: "until in the past", body: fmt.Sprintf(`{"until":%q,"reason":"x"}`, past), wantField: "until"},
			{name: "not JSON", body: `{"reason":`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := wantError(t, b.post(t, "/v1/borrowers/b-badmute/mutes", tokSupport, tt.body), http.StatusBadRequest)
				if e.Error.Field != tt.wantField {
					t.Errorf("field = %q, want %q", e.Error.Field, tt.wantField)
				}
			})
		}
	})

	t.Run("deliveries", func(t *testing.T) {
		t.Parallel()
		b.addBorrower(t, "b-deliv")
		r := b.get(t, "/v1/borrowers/b-deliv/deliveries", tokSupport)
		if r.status != http.StatusOK {
			t.Fatalf("deliveries: %d %s", r.status, r.body)
		}
		got := decode[map[string]json.RawMessage](t, r)
		if len(got) != 1 || string(got["deliveries"]) != "[]" {
			t.Errorf("deliveries body = %s, want {\"deliveries\":[]}", r.body)
		}
	})

	t.Run("outbox", func(t *testing.T) {
		t.Parallel()
		e := wantError(t, b.get(t, "/v1/outbox?channel=fax", tokSupport), http.StatusBadRequest)
		if e.Error.Field != "channel" {
			t.Errorf("field = %q, want channel", e.Error.Field)
		}
		for _, q := range []string{"", "?channel=sms", "?channel=email&borrower_id=b-auth", "?borrower_id=nobody&limit=5"} {
			r := b.get(t, "/v1/outbox"+q, tokSupport)
			if r.status != http.StatusOK {
				t.Fatalf("outbox%s: %d %s", q, r.status, r.body)
			}
			got := decode[map[string]json.RawMessage](t, r)
			if string(got["messages"]) != "[]" {
				t.Errorf("outbox%s = %s, want {\"messages\":[]}", q, r.body)
			}
		}
	})

	t.Run("inbox", func(t *testing.T) {
		t.Parallel()
		b.addBorrower(t, "b-inbox")
		r := b.get(t, "/v1/borrowers/b-inbox/inbox", tokSupport)
		if r.status != http.StatusOK {
			t.Fatalf("inbox: %d %s", r.status, r.body)
		}
		if got := decode[map[string]json.RawMessage](t, r); string(got["messages"]) != "[]" {
			t.Errorf("inbox body = %s, want {\"messages\":[]}", r.body)
		}
	})

	t.Run("health", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			path string
			want string
		}{
			{"/healthz", "ok"},
			{"/readyz", "ready"},
		}
		for _, tt := range tests {
			r := b.get(t, tt.path, "")
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", tt.path, r.status, r.body)
			}
			if got := decode[map[string]string](t, r)["status"]; got != tt.want {
				t.Errorf("%s: status %q, want %q", tt.path, got, tt.want)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		t.Parallel()
		r := b.get(t, "/metrics", "")
		if r.status != http.StatusOK {
			t.Fatalf("metrics: %d", r.status)
		}
		if !bytes.Contains(r.body, []byte("forbear_deliveries_total")) && !bytes.Contains(r.body, []byte("forbear_fence_seconds")) {
			t.Errorf("metrics lack forbear_deliveries_total and forbear_fence_seconds:\n%s", r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type = %q, want the Prometheus text format", ct)
		}
	})

	t.Run("body too large", func(t *testing.T) {
		t.Parallel()
		big := bytes.Repeat([]byte(" "), 9<<20)
		for _, path := range []string{"/v1/events", "/v1/borrowers/b-auth/mutes"} {
			token := map[string]string{"/v1/events": tokPublisher}[path]
			if token == "" {
				token = tokSupport
			}
			e := wantError(t, b.do(t, http.MethodPost, path, token, bytes.NewReader(big), "application/json"), http.StatusRequestEntityTooLarge)
			if e.Error.Code != "too_large" {
				t.Errorf("%s: code = %q, want too_large", path, e.Error.Code)
			}
		}
	})
}

func TestOpenMode(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   int
	}{
		{name: "events", method: "POST", path: "/v1/events", body: borrowerEvent("ev-open", "b-open", "Open"), want: 200},
		{name: "borrower", method: "GET", path: "/v1/borrowers/b-open", want: 200},
		{name: "unknown borrower", method: "GET", path: "/v1/borrowers/nobody", want: 404},
		{name: "outbox", method: "GET", path: "/v1/outbox", want: 200},
		{name: "mute", method: "POST", path: "/v1/borrowers/b-open/mutes", body: `{"reason":"open"}`, want: 201},
	}
	// In order: the borrower must exist before it is read and muted.
	for _, tt := range tests {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		r := b.do(t, tt.method, tt.path, "", body, "application/json")
		if r.status != tt.want {
			t.Errorf("%s: %s %s without a token = %d %s, want %d", tt.name, tt.method, tt.path, r.status, r.body, tt.want)
		}
	}
	// Any bearer token is ignored in open mode.
	if r := b.get(t, "/v1/borrowers/b-open", "t-whatever"); r.status != http.StatusOK {
		t.Errorf("open mode with a token: %d %s", r.status, r.body)
	}
}

// A handler that panics (here: no state store wired) answers 500 with the
// error shape instead of dropping the connection, even without a logger.
func TestPanicIsInternalError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(httpapi.New(httpapi.Options{}))
	t.Cleanup(srv.Close)
	b := &bundle{url: srv.URL}
	e := wantError(t, b.get(t, "/v1/borrowers/x", ""), http.StatusInternalServerError)
	if e.Error.Code != "internal" {
		t.Errorf("code = %q, want internal", e.Error.Code)
	}
	if r := b.get(t, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("/healthz after a panic: %d", r.status)
	}
}
