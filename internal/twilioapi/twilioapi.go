package twilioapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"golang.org/x/time/rate"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/logging"
)

// DefaultBaseURL is where twilio-go sends every REST call; a configured
// api_base_url replaces its scheme and host.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one HTTP request when the injected *http.Client has
// no Timeout of its own. Twilio answers in well under a second; a request
// hanging this long is better retried than waited on.
const DefaultTimeout = 30 * time.Second

// twilioHost is the host twilio-go hard-codes in every request URL.
const twilioHost = "api.twilio.com"

// ErrRateLimited is wrapped in a Retry [channels.Error] when waiting for the
// sender's rate limit would outlast the context's deadline: the caller can
// hand the message back with the RetryAfter delay instead of holding it.
var ErrRateLimited = errors.New("twilioapi: sender rate limit would outlast the context deadline")

// Client is what every Twilio call of one provider shares: credentials, the
// sender, the base URL, the connection pool and the sender's rate limiter.
// It is safe for concurrent use.
type Client struct {
	sid, token string
	from       string
	base       *url.URL // nil: the real https://api.twilio.com
	transport  http.RoundTripper
	timeout    time.Duration
	limiter    *rate.Limiter // nil: no limit
}

// New validates cfg and returns a Client. key is the config path of the
// provider ("providers.sms") so that errors name the offending key, e.g.
// "providers.sms.twilio.account_sid is required". hc supplies the shared
// transport and timeout; nil means a private clone of
// http.DefaultTransport and DefaultTimeout.
func New(key string, cfg config.Provider, hc *http.Client) (*Client, error) {
	var errs []error
	if cfg.Kind != "" && cfg.Kind != "twilio" {
		errs = append(errs, fmt.Errorf("%s.kind is %q, want twilio", key, cfg.Kind))
	}
	// twilio-go refuses credentials that are not alphanumeric on every
	// request; say so once, at start-up, naming the key.
	for _, f := range []struct{ name, val string }{
		{"account_sid", cfg.Twilio.AccountSID},
		{"auth_token", cfg.Twilio.AuthToken},
	} {
		switch {
		case f.val == "":
			errs = append(errs, fmt.Errorf("%s.twilio.%s is required", key, f.name))
		case !alphanumeric(f.val):
			errs = append(errs, fmt.Errorf("%s.twilio.%s must contain only letters and digits", key, f.name))
		}
	}
	if cfg.From == "" {
		errs = append(errs, fmt.Errorf("%s.from is required", key))
	}
	if cfg.RatePerSecond < 0 {
		errs = append(errs, fmt.Errorf("%s.rate_per_second must not be negative, got %v", key, cfg.RatePerSecond))
	}
	var base *url.URL
	if raw := cfg.Twilio.APIBaseURL; raw != "" {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.twilio.api_base_url: %w", key, err))
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("%s.twilio.api_base_url must be an absolute http or https URL, got %q", key, raw))
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("%s.twilio.api_base_url must not have credentials, a query or a fragment", key))
		default:
			base = u
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	c := &Client{
		sid:     cfg.Twilio.AccountSID,
		token:   cfg.Twilio.AuthToken,
		from:    cfg.From,
		base:    base,
		timeout: DefaultTimeout,
	}
	switch {
	case hc == nil:
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
	case hc.Transport == nil:
		c.transport = http.DefaultTransport
	default:
		c.transport = hc.Transport
	}
	if hc != nil && hc.Timeout > 0 {
		c.timeout = hc.Timeout
	}
	if cfg.RatePerSecond > 0 {
		// Burst 1: carriers measure a long code's pace per second, so a
		// burst after an idle minute is exactly what gets filtered.
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), 1)
	}
	return c, nil
}

// From is the configured sender (phone number or sender id).
func (c *Client) From() string { return c.from }

// Send runs call, which must make one creating request (a message or a
// call) with the given service. It waits for the sender's rate limit, then
// the request starts only if channels.BeginCall(ctx) allows it at that
// moment. Errors are classified: a *[channels.Error] for Twilio and network
// failures, or channels.ErrFenceExpired / ctx.Err() unchanged.
func (c *Client) Send(ctx context.Context, call func(*openapi.ApiService) error) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.do(ctx, true, call)
}

// Create runs a create request (a message or a call) through Send and
// returns the new resource's SID; an answer without one is an error.
func (c *Client) Create(ctx context.Context, what string, create func(*openapi.ApiService) (sid *string, err error)) (string, error) {
	var sid string
	err := c.Send(ctx, func(api *openapi.ApiService) error {
		s, err := create(api)
		if err != nil {
			return err
		}
		if s == nil || *s == "" {
			return fmt.Errorf("twilio accepted the %s but returned no sid", what)
		}
		sid = *s
		return nil
	})
	return sid, err
}

// Query runs call, which reads (lists, fetches) with the given service and
// must be done with it when it returns (no Stream* methods). It
// is not rate-limited and not fenced: reading starts no contact with the
// borrower. Errors are classified as in Send.
func (c *Client) Query(ctx context.Context, call func(*openapi.ApiService) error) error {
	return c.do(ctx, false, call)
}

func (c *Client) do(ctx context.Context, fenced bool, call func(*openapi.ApiService) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rt := &roundTripper{c: c, ctx: ctx, fenced: fenced}
	defer rt.finish()
	tc := &client.Client{
		Credentials: client.NewCredentials(c.sid, c.token),
		HTTPClient: &http.Client{
			Transport: rt,
			// Twilio does not redirect API calls; a redirect is a
			// misconfigured proxy and following it would resend credentials.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(c.sid)
	// Built by hand rather than with NewApiServiceWithClient so that the
	// TWILIO_EDGE and TWILIO_REGION environment variables cannot move the
	// host away from what api_base_url rewrites: the config is the one place
	// that decides where requests go.
	api := openapi.NewApiService(&client.RequestHandler{Client: tc})
	err := call(api)
	if err == nil {
		return nil
	}
	return rt.classify(err)
}

// wait takes a token from the sender's limiter, giving up early (with a
// Retry error carrying the delay) when the wait cannot finish before ctx's
// deadline.
func (c *Client) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.limiter == nil {
		return nil
	}
	r := c.limiter.Reserve()
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.Cancel()
		return &channels.Error{Kind: channels.Retry, Code: "rate_limited", RetryAfter: d, Err: ErrRateLimited}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// rewrite points a twilio-go URL at the configured base, keeping the path.
func (c *Client) rewrite(u *url.URL) {
	if c.base == nil || u.Host != twilioHost {
		return
	}
	u.Scheme = c.base.Scheme
	u.Host = c.base.Host
	u.Path = strings.TrimSuffix(c.base.Path, "/") + u.Path
	u.RawPath = ""
}

// roundTripper serves one Send or Query: it carries the caller's context
// into requests twilio-go builds with context.Background, and remembers the
// last response's status and headers, which twilio-go drops when it decodes
// an error body (Retry-After lives there).
type roundTripper struct {
	c      *Client
	ctx    context.Context
	fenced bool

	mu      sync.Mutex
	status  int
	header  http.Header
	cancels []context.CancelFunc
}

// finish ends every request context of the call. twilio-go does not close
// the body of an error response; without this its connection and timer
// would linger until the timeout.
func (t *roundTripper) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, cancel := range t.cancels {
		cancel()
	}
	t.cancels = nil
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.c.timeout)
	t.mu.Lock()
	t.cancels = append(t.cancels, cancel)
	t.mu.Unlock()
	out := req.Clone(ctx)
	t.c.rewrite(out.URL)
	out.Host = "" // send the rewritten host, not the one NewRequest recorded
	t.remember(0, nil)

	// The last moment before the network: a fence that expired while
	// twilio-go built the request, or a cancelled context, stops it here.
	begin := t.ctx.Err
	if t.fenced {
		begin = func() error { return channels.BeginCall(t.ctx) }
	}
	if err := begin(); err != nil {
		cancel()
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.c.transport.RoundTrip(out)
	if err != nil {
		cancel()
		return nil, err
	}
	t.remember(resp.StatusCode, resp.Header)
	// The timeout context must live until twilio-go has read the body.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (t *roundTripper) remember(status int, h http.Header) {
	t.mu.Lock()
	t.status, t.header = status, h
	t.mu.Unlock()
}

func (t *roundTripper) last() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.header
}

func (t *roundTripper) classify(err error) error {
	if errors.Is(err, channels.ErrFenceExpired) {
		return channels.ErrFenceExpired
	}
	if cerr := t.ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return cerr
	}
	status, header := t.last()
	return classify(err, status, header)
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Twilio error codes that change how a failure is handled.
const (
	CodeInvalidTo       = 21211 // the To number is not a valid phone number
	CodeUnsubscribed    = 21610 // the recipient replied STOP
	CodeTooManyRequests = 20429
)

// APIError is a Twilio error response with phone numbers masked in its
// message, so that it can go into logs and audit records as it is.
type APIError struct {
	// Status is the HTTP status of the response.
	Status int
	// Code is Twilio's error code (0 when the body had none).
	Code     int
	Message  string
	MoreInfo string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("twilio: HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
}

// classify maps a twilio-go error, plus the status and headers of the last
// response, to a channels.Error.
func classify(err error, status int, header http.Header) error {
	var (
		tre *client.TwilioRestError
		v1  *client.RestErrorV1
		api *APIError
	)
	switch {
	case errors.As(err, &tre):
		api = &APIError{Status: tre.Status, Code: tre.Code, Message: maskPhones(tre.Message), MoreInfo: tre.MoreInfo}
	case errors.As(err, &v1):
		api = &APIError{Status: v1.HttpStatusCode, Code: v1.Code, Message: maskPhones(v1.Message)}
	case status >= 400:
		// An error body that is not Twilio's JSON: a proxy or load
		// balancer answered. The status is all there is to go on.
		return &channels.Error{
			Kind:       kindOf(status, 0),
			Code:       "http " + strconv.Itoa(status),
			RetryAfter: retryAfter(header),
			Err:        fmt.Errorf("twilio: HTTP %d with an unreadable error body: %w", status, err),
		}
	default:
		// Network failure, or a success response we could not read: the
		// request may have been accepted, which is what Lookup is for.
		return &channels.Error{Kind: channels.Retry, Err: fmt.Errorf("twilio: %w", redactURL(err))}
	}
	// The status on the wire wins over the one in the body.
	if status >= 400 {
		api.Status = status
	}
	ce := &channels.Error{Kind: kindOf(api.Status, api.Code), Code: strconv.Itoa(api.Code), Err: api}
	if api.Code == 0 {
		ce.Code = "http " + strconv.Itoa(api.Status)
	}
	if ce.Kind == channels.Retry {
		ce.RetryAfter = retryAfter(header)
	}
	return ce
}

func kindOf(status, code int) channels.ErrorKind {
	switch {
	case code == CodeUnsubscribed:
		return channels.OptedOut
	case status == http.StatusTooManyRequests || code == CodeTooManyRequests:
		return channels.Retry
	case status >= 500:
		return channels.Retry
	case status >= 400:
		return channels.Permanent
	default:
		return channels.Retry
	}
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date; 0
// when absent or unreadable.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// phoneRun matches what may be a phone number in free text: 7 to 15 digits
// with an optional plus.
var phoneRun = regexp.MustCompile(`\+?\d{7,15}`)

// maskPhones masks phone numbers Twilio puts in error messages ("The 'To'
// number +86138... is not a valid phone number").
func maskPhones(s string) string {
	return phoneRun.ReplaceAllStringFunc(s, logging.Phone)
}

// redactURL drops the query from a *url.Error: list requests carry the
// borrower's number there, and network errors end up in logs.
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	u.RawQuery = ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

func alphanumeric(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
