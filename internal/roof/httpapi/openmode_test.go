package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// doWith sends a GET with extra headers ("Host" sets the Host header).
func (b *bundle) doWith(t *testing.T, method, path, token string, header map[string]string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// TestOpenModeRefusesBrowsersFromElsewhere: with no tokens anyone who can
// reach the loopback listener is admin, which a web page can be too (DNS
// rebinding gives its own host name to 127.0.0.1; a cross-origin form or
// fetch needs no answer to do harm). Open mode serves only requests
// addressed to a loopback name from no browser page or a same-origin one;
// scripts (curl) keep working.
func TestOpenModeRefusesBrowsersFromElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	if r := b.post(t, "/v1/events", "", borrowerEvent("ev-edge", "b-edge", "Edge")); r.status != http.StatusOK {
		t.Fatalf("borrower: %d %s", r.status, r.body)
	}
	self := strings.TrimPrefix(b.url, "http://") // 127.0.0.1:port
	port := self[strings.LastIndex(self, ":"):]
	tests := []struct {
		name     string
		method   string
		header   map[string]string
		wantCode string // "" = served
	}{
		{name: "curl-like", header: nil},
		{name: "localhost with port", header: map[string]string{"Host": "localhost" + port}},
		{name: "localhost without port", header: map[string]string{"Host": "localhost"}},
		{name: "LOCALHOST", header: map[string]string{"Host": "LOCALHOST" + port}},
		{name: "IPv6 loopback", header: map[string]string{"Host": "[::1]" + port}},
		{name: "IPv6 loopback without port", header: map[string]string{"Host": "[::1]"}},
		{name: "another loopback address", header: map[string]string{"Host": "127.0.0.2" + port}},
		{name: "same-origin page", header: map[string]string{"Origin": "http://" + self, "Sec-Fetch-Site": "same-origin"}},
		{name: "typed in the address bar", header: map[string]string{"Sec-Fetch-Site": "none"}},
		{name: "foreign host", header: map[string]string{"Host": "evil.example"}, wantCode: "forbidden_host"},
		{name: "foreign host with port", header: map[string]string{"Host": "evil.example" + port}, wantCode: "forbidden_host"},
		{name: "rebinding name on loopback", header: map[string]string{"Host": "127.0.0.1.evil.example" + port}, wantCode: "forbidden_host"},
		{name: "localhost suffix", header: map[string]string{"Host": "localhost.evil.example" + port}, wantCode: "forbidden_host"},
		{name: "cross-origin page", header: map[string]string{"Origin": "http://evil.example"}, wantCode: "cross_origin"},
		{name: "cross-origin POST", method: http.MethodPost, header: map[string]string{"Origin": "http://evil.example"}, wantCode: "cross_origin"},
		{name: "other local port", header: map[string]string{"Origin": "http://127.0.0.1:1"}, wantCode: "cross_origin"},
		{name: "other local name", header: map[string]string{"Origin": "http://localhost" + port}, wantCode: "cross_origin"},
		{name: "opaque origin", header: map[string]string{"Origin": "null"}, wantCode: "cross_origin"},
		{name: "cross-site navigation", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantCode: "cross_origin"},
		{name: "same-site page", header: map[string]string{"Sec-Fetch-Site": "same-site"}, wantCode: "cross_origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, path := http.MethodGet, "/v1/borrowers/b-edge"
			if tt.method == http.MethodPost {
				method, path = http.MethodPost, "/v1/borrowers/b-edge/mutes"
			}
			r := b.doWith(t, method, path, "", tt.header)
			if tt.wantCode == "" {
				if r.status != http.StatusOK {
					t.Errorf("%s %s with %v = %d %s, want 200", method, path, tt.header, r.status, r.body)
				}
				return
			}
			if e := wantError(t, r, http.StatusForbidden); e.Error.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Error.Code, tt.wantCode)
			}
		})
	}
}

// Signed routes (unsubscribe links, Twilio callbacks) check their own
// signature and grant nothing open mode opens: they answer from any host
// (a borrower's mail client, Twilio through a tunnel), as in token mode.
// Health checks, too, stay as they are.
func TestOpenModeLeavesSignedAndHealthRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	foreign := map[string]string{"Host": "forbear.example", "Sec-Fetch-Site": "cross-site"}
	e := wantError(t, b.doWith(t, http.MethodGet, "/v1/unsubscribe?b=x&a=y&sig=bad", "", foreign), http.StatusForbidden)
	if e.Error.Code != "bad_signature" {
		t.Errorf("unsubscribe from a foreign host: code %q, want the signature check's bad_signature", e.Error.Code)
	}
	if r := b.doWith(t, http.MethodGet, "/healthz", "", foreign); r.status != http.StatusOK {
		t.Errorf("/healthz from a foreign host: %d", r.status)
	}
}

// Token mode does not care where a request is addressed: the token is the
// proof.
func TestTokenModeIgnoresHost(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	r := b.doWith(t, http.MethodGet, "/v1/outbox", tokSupport, map[string]string{"Host": "forbear.example", "Origin": "https://desk.example"})
	if r.status != http.StatusOK {
		t.Errorf("token mode from another host: %d %s", r.status, r.body)
	}
}

// Every configured token is found, wherever it stands in the list, and
// nothing but the exact token is.
func TestTokenLookup(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	allowed := map[string]string{ // a route each token's role may use
		tokPublisher: "/v1/events", tokOps: "/v1/templates", tokSupport: "/v1/outbox", tokAdmin: "/v1/outbox",
	}
	for tok, path := range allowed {
		method := http.MethodGet
		if path == "/v1/events" {
			method = http.MethodPost
		}
		r := b.doWith(t, method, path, tok, nil)
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
			t.Errorf("token %q on %s %s: %d %s", tok, method, path, r.status, r.body)
		}
	}
	for _, tok := range []string{"t-op", "t-opsx", "T-OPS", tokOps + tokOps, "x", strings.Repeat("t", 4096)} {
		e := wantError(t, b.doWith(t, http.MethodGet, "/v1/templates", tok, nil), http.StatusUnauthorized)
		if e.Error.Code != "unauthorized" {
			t.Errorf("token %q: code %q, want unauthorized", tok, e.Error.Code)
		}
	}
}
