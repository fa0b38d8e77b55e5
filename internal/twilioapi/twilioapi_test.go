package twilioapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
	"github.com/forbear/forbear/internal/twilioapi"
)

const from = "+15005550006"

var numbers atomic.Int64

// phone returns a fresh valid E.164 number, so parallel tests never share
// programmed failures.
func phone() string { return fmt.Sprintf("+1555%07d", numbers.Add(1)) }

type bundle struct {
	fake *faketwilio.Server
	api  *twilioapi.Client
}

func setup(t *testing.T, mod func(*config.Provider)) bundle {
	t.Helper()
	fake := faketwilio.New(t)
	cfg := config.Provider{Kind: "twilio", From: from, Twilio: fake.Twilio()}
	if mod != nil {
		mod(&cfg)
	}
	api, err := twilioapi.New("providers.sms", cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return bundle{fake: fake, api: api}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func sendSMS(ctx context.Context, api *twilioapi.Client, to string) (string, error) {
	var sid string
	err := api.Send(ctx, func(s *openapi.ApiService) error {
		m, err := s.CreateMessage((&openapi.CreateMessageParams{}).SetTo(to).SetFrom(api.From()).SetBody("hello"))
		if err == nil {
			sid = *m.Sid
		}
		return err
	})
	return sid, err
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	good := config.Provider{Kind: "twilio", From: from, Twilio: config.Twilio{AccountSID: "AC123", AuthToken: "tok"}}
	tests := []struct {
		name    string
		mod     func(*config.Provider)
		wantErr []string
	}{
		{name: "ok", mod: func(*config.Provider) {}},
		{name: "empty kind is fine", mod: func(p *config.Provider) { p.Kind = "" }},
		{name: "wrong kind", mod: func(p *config.Provider) { p.Kind = "smtp" }, wantErr: []string{"providers.sms.kind"}},
		{name: "missing everything", mod: func(p *config.Provider) { *p = config.Provider{} }, wantErr: []string{
			"providers.sms.twilio.account_sid is required",
			"providers.sms.twilio.auth_token is required",
			"providers.sms.from is required",
		}},
		{name: "bad token chars", mod: func(p *config.Provider) { p.Twilio.AuthToken = "a:b" }, wantErr: []string{"providers.sms.twilio.auth_token must contain only letters and digits"}},
		{name: "relative base", mod: func(p *config.Provider) { p.Twilio.APIBaseURL = "localhost:8080" }, wantErr: []string{"providers.sms.twilio.api_base_url"}},
		{name: "base with query", mod: func(p *config.Provider) { p.Twilio.APIBaseURL = "http://h/?x=1" }, wantErr: []string{"providers.sms.twilio.api_base_url"}},
		{name: "negative rate", mod: func(p *config.Provider) { p.RatePerSecond = -1 }, wantErr: []string{"providers.sms.rate_per_second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.mod(&cfg)
			_, err := twilioapi.New("providers.sms", cfg, nil)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error mentioning %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		failure        faketwilio.Failure
		wantKind       channels.ErrorKind
		wantCode       string
		wantRetryAfter time.Duration
	}{
		{name: "invalid number", failure: faketwilio.Failure{Status: 400, Code: 21211}, wantKind: channels.Permanent, wantCode: "21211"},
		{name: "unsubscribed", failure: faketwilio.Failure{Status: 400, Code: 21610}, wantKind: channels.OptedOut, wantCode: "21610"},
		{name: "too many requests", failure: faketwilio.Failure{Status: 429, Code: 20429, RetryAfter: 3 * time.Second}, wantKind: channels.Retry, wantCode: "20429", wantRetryAfter: 3 * time.Second},
		{name: "429 without code or header", failure: faketwilio.Failure{Status: 429}, wantKind: channels.Retry, wantCode: "http 429"},
		{name: "20429 on a 400", failure: faketwilio.Failure{Status: 400, Code: 20429}, wantKind: channels.Retry, wantCode: "20429"},
		{name: "server error", failure: faketwilio.Failure{Status: 500}, wantKind: channels.Retry, wantCode: "http 500"},
		{name: "proxy page", failure: faketwilio.Failure{Status: 502, RawBody: "<html>bad gateway</html>", RetryAfter: time.Second}, wantKind: channels.Retry, wantCode: "http 502", wantRetryAfter: time.Second},
		{name: "proxy 403 page", failure: faketwilio.Failure{Status: 403, RawBody: "<html>no</html>"}, wantKind: channels.Permanent, wantCode: "http 403"},
		{name: "other 4xx", failure: faketwilio.Failure{Status: 400, Code: 21617}, wantKind: channels.Permanent, wantCode: "21617"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			to := phone()
			b.fake.Fail(to, tt.failure)
			_, err := sendSMS(ctx(t), b.api, to)
			var ce *channels.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *channels.Error", err, err)
			}
			if ce.Kind != tt.wantKind || ce.Code != tt.wantCode || ce.RetryAfter != tt.wantRetryAfter {
				t.Errorf("got kind=%v code=%q retryAfter=%v, want kind=%v code=%q retryAfter=%v",
					ce.Kind, ce.Code, ce.RetryAfter, tt.wantKind, tt.wantCode, tt.wantRetryAfter)
			}
			if strings.Contains(err.Error(), to) {
				t.Errorf("error %q contains the full phone number", err)
			}
			// The client never retries on its own: the dispatcher decides.
			if got := b.fake.Count(); got != 1 {
				t.Errorf("fake saw %d requests, want 1", got)
			}
		})
	}
}

func TestAPIErrorDetails(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := sendSMS(ctx(t), b.api, "12345678") // not E.164: the fake answers 21211
	var ae *twilioapi.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *APIError inside", err)
	}
	if ae.Status != 400 || ae.Code != twilioapi.CodeInvalidTo {
		t.Errorf("APIError = %+v, want status 400 code 21211", ae)
	}
	if strings.Contains(ae.Message, "12345678") {
		t.Errorf("message %q is not masked", ae.Message)
	}
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *config.Provider) { p.Twilio.AuthToken = "wrong" })
	_, err := sendSMS(ctx(t), b.api, phone())
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.Permanent || ce.Code != "20003" {
		t.Fatalf("err = %v, want permanent 20003", err)
	}
}

func TestNetworkErrorIsRetry(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	b := setup(t, func(p *config.Provider) { p.Twilio.APIBaseURL = dead.URL })
	_, err := sendSMS(ctx(t), b.api, phone())
	if got := channels.Classify(err); err == nil || got != channels.Retry {
		t.Fatalf("err = %v kind %v, want a retryable error", err, got)
	}
	var ce *channels.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %T, want *channels.Error", err)
	}
}

func TestFenceAndContextPassThrough(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := sendSMS(channels.WithFence(ctx(t), time.Now().Add(-time.Second)), b.api, phone())
	if !errors.Is(err, channels.ErrFenceExpired) {
		t.Errorf("expired fence: err = %v, want ErrFenceExpired", err)
	}
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := sendSMS(c, b.api, phone()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if got := b.fake.Count(); got != 0 {
		t.Errorf("fake saw %d requests, want 0", got)
	}
}

// A request already at Twilio when the caller gives up returns the
// context's error, not a classified provider error, and leaves the message
// accepted at Twilio (what Lookup exists for).
func TestCancelInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	gate := b.fake.Hold()
	c, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() {
		_, err := sendSMS(c, b.api, phone())
		done <- err
	}()
	select {
	case <-gate.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the fake")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if msgs := b.fake.Messages(); len(msgs) != 1 || msgs[0].SID == "" {
		t.Errorf("fake messages = %+v, want one accepted", msgs)
	}
}

// The per-request timeout from the injected client applies even though
// requests run under the caller's context; hitting it is retryable.
func TestRequestTimeoutIsRetry(t *testing.T) {
	t.Parallel()
	fake := faketwilio.New(t)
	fake.Hold()
	cfg := config.Provider{From: from, Twilio: fake.Twilio()}
	api, err := twilioapi.New("providers.sms", cfg, &http.Client{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sendSMS(ctx(t), api, phone())
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.Retry {
		t.Fatalf("err = %v, want a Retry *channels.Error", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("timeout reported as the caller's cancellation: %v", err)
	}
}

type recordingTransport struct {
	got chan *http.Request
}

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.got <- r
	return &http.Response{
		StatusCode: 201,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"sid":"SM00000000000000000000000000000000"}`)),
		Request:    r,
	}, nil
}

func TestBaseURLRewrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		base string
		want string
	}{
		{name: "default", base: "", want: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"},
		{name: "host", base: "http://127.0.0.1:9999", want: "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json"},
		{name: "with path", base: "https://gw.example.com/twilio/", want: "https://gw.example.com/twilio/2010-04-01/Accounts/AC1/Messages.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := recordingTransport{got: make(chan *http.Request, 1)}
			cfg := config.Provider{From: from, Twilio: config.Twilio{AccountSID: "AC1", AuthToken: "t", APIBaseURL: tt.base}}
			api, err := twilioapi.New("providers.sms", cfg, &http.Client{Transport: rt})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sendSMS(ctx(t), api, phone()); err != nil {
				t.Fatalf("send: %v", err)
			}
			r := <-rt.got
			if got := r.URL.String(); got != tt.want {
				t.Errorf("URL = %s, want %s", got, tt.want)
			}
			if r.Host != "" && r.Host != r.URL.Host {
				t.Errorf("Host header %q does not match URL host %q", r.Host, r.URL.Host)
			}
			if user, _, ok := r.BasicAuth(); !ok || user != "AC1" {
				t.Errorf("basic auth user = %q (ok=%v), want AC1", user, ok)
			}
		})
	}
}

func TestBaseURLReachesFake(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	to := phone()
	sid, err := sendSMS(ctx(t), b.api, to)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := b.fake.Messages()
	if len(msgs) != 1 || msgs[0].SID != sid || msgs[0].To != to || msgs[0].From != from || msgs[0].Body != "hello" {
		t.Errorf("fake recorded %+v, want one message %s to %s", msgs, sid, to)
	}
}

// Paging: next_page_uri comes back relative to api.twilio.com and must be
// rewritten too; the list must end.
func TestQueryPagesThroughFake(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	to := phone()
	for range 5 {
		if _, err := sendSMS(ctx(t), b.api, to); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	err := b.api.Query(ctx(t), func(s *openapi.ApiService) error {
		list, err := s.ListMessage((&openapi.ListMessageParams{}).SetTo(to).SetPageSize(2))
		n = len(list)
		return err
	})
	if err != nil || n != 5 {
		t.Fatalf("listed %d messages, err %v; want 5", n, err)
	}
	gets := 0
	for _, r := range b.fake.Requests() {
		if r.Method == http.MethodGet {
			gets++
		}
	}
	if gets != 3 {
		t.Errorf("fake saw %d list requests, want 3 pages of at most 2", gets)
	}
	// Reading is not fenced: an expired fence does not stop a lookup.
	err = b.api.Query(channels.WithFence(ctx(t), time.Now().Add(-time.Second)), func(s *openapi.ApiService) error {
		_, err := s.ListMessage((&openapi.ListMessageParams{}).SetTo(to))
		return err
	})
	if err != nil {
		t.Errorf("Query under an expired fence: %v", err)
	}
}

func TestRateLimitPaces(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *config.Provider) { p.RatePerSecond = 20 })
	start := time.Now()
	for range 3 {
		if _, err := sendSMS(ctx(t), b.api, phone()); err != nil {
			t.Fatal(err)
		}
	}
	// Burst 1 at 20/s: the 2nd and 3rd sends wait 50 ms each.
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("3 sends at 20/s took %v, want at least 100ms", el)
	}
}

func TestRateLimitHonoursContext(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *config.Provider) { p.RatePerSecond = 0.001 }) // one per 1000 s
	if _, err := sendSMS(ctx(t), b.api, phone()); err != nil {
		t.Fatal(err)
	}

	// A deadline the wait cannot meet: give the message back at once.
	short, cancelShort := context.WithTimeout(ctx(t), 5*time.Second)
	defer cancelShort()
	_, err := sendSMS(short, b.api, phone())
	var ce *channels.Error
	if !errors.Is(err, twilioapi.ErrRateLimited) || !errors.As(err, &ce) || ce.Kind != channels.Retry || ce.RetryAfter <= 5*time.Second {
		t.Errorf("err = %v, want Retry ErrRateLimited with RetryAfter > 5s", err)
	}

	// No deadline: the wait ends when the context is cancelled.
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sendSMS(c, b.api, phone())
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send kept waiting after its context was cancelled")
	}
	if got := b.fake.Count(); got != 1 {
		t.Errorf("fake saw %d requests, want 1", got)
	}
}

// The fence is checked after the rate-limit wait, right before the request.
func TestFenceCheckedAfterRateWait(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *config.Provider) { p.RatePerSecond = 10 })
	if _, err := sendSMS(ctx(t), b.api, phone()); err != nil {
		t.Fatal(err)
	}
	// The next token is ~100 ms away; the fence lasts 1 ms.
	c := channels.WithFence(ctx(t), time.Now().Add(time.Millisecond))
	if _, err := sendSMS(c, b.api, phone()); !errors.Is(err, channels.ErrFenceExpired) {
		t.Fatalf("err = %v, want ErrFenceExpired", err)
	}
	if got := b.fake.Count(); got != 1 {
		t.Errorf("fake saw %d requests, want 1", got)
	}
}
