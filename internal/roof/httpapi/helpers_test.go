package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
)

// Tokens of the test instance, one per role.
const (
	tokPublisher = "t-publisher"
	tokOps       = "t-ops"
	tokSupport   = "t-support"
	tokAdmin     = "t-admin"
)

var roleTokens = []config.Token{
	{Name: "backend", Token: tokPublisher, Roles: []string{"publisher"}},
	{Name: "ops", Token: tokOps, Roles: []string{"ops"}},
	{Name: "desk", Token: tokSupport, Roles: []string{"support"}},
	{Name: "root", Token: tokAdmin, Roles: []string{"admin"}},
}

// bundle is one running forbear instance behind an httptest server.
type bundle struct {
	url string
	app *app.App
}

// setup starts a full instance (embedded in-process NATS under a temporary
// data dir, no scheduler, no listener of its own) and serves its handler.
func setup(t *testing.T, tokens []config.Token) *bundle {
	t.Helper()
	return setupWith(t, tokens, nil, nil)
}

// setupWith is setup with the configuration changed by change (if not nil)
// and logs going to log (if not nil).
func setupWith(t *testing.T, tokens []config.Token, change func(*config.Config), log *logrus.Logger) *bundle {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.NATS.Embedded.Listen = ""
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Auth.Tokens = tokens
	if change != nil {
		change(&cfg)
	}
	if log == nil {
		log = logrus.New()
		log.SetOutput(io.Discard)
	}

	ctx := testkit.Context(t, 30*time.Second)
	a, err := app.New(ctx, cfg, app.Options{NoScheduler: true, NoHTTP: true, Log: log})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		t.Fatalf("app.Start: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			t.Logf("app.Stop: %v", err)
		}
	})
	return &bundle{url: srv.URL, app: a}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (b *bundle) do(t *testing.T, method, path, token string, body io.Reader, contentType string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func (b *bundle) get(t *testing.T, path, token string) response {
	t.Helper()
	return b.do(t, http.MethodGet, path, token, nil, "")
}

func (b *bundle) post(t *testing.T, path, token, body string) response {
	t.Helper()
	return b.do(t, http.MethodPost, path, token, strings.NewReader(body), "application/json")
}

// apiErr is the error body {"error":{"code","message","field"}}.
type apiErr struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks the status and the error shape, and returns the error.
func wantError(t *testing.T, r response, status int) apiErr {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e apiErr
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil {
		t.Fatalf("body %s is not {\"error\":{...}}: %v", r.body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error %s lacks code or message", r.body)
	}
	return e
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return v
}

func borrowerEvent(eventID, borrowerID, name string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":"borrower.upserted",
		"data":{"borrower_id":%q,"name":%q,"locale":"en-US","timezone":"Asia/Shanghai","phone":"+8613800000000"}}`,
		eventID, borrowerID, name)
}

func loanEvent(eventID, borrowerID, loanID, dueDate string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":"loan.updated",
		"data":{"borrower_id":%q,"loan_id":%q,"due_date":%q,"amount_due":"1200.00","currency":"CNY","status":"current"}}`,
		eventID, borrowerID, loanID, dueDate)
}

// addBorrower creates a borrower through the API.
func (b *bundle) addBorrower(t *testing.T, id string) {
	t.Helper()
	r := b.post(t, "/v1/events", tokPublisher, borrowerEvent("ev-"+id, id, "Borrower "+id))
	if r.status != http.StatusOK {
		t.Fatalf("create borrower %s: %d %s", id, r.status, r.body)
	}
}
