package browsertest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/testkit/browser"
	"github.com/forbear/forbear/internal/testkit/faketwilio"
	"github.com/forbear/forbear/internal/testkit/smtpserver"
)

// The staff tokens of every instance, one per role.
const (
	adminToken     = "t-admin"
	supportToken   = "t-desk"
	opsToken       = "t-ops"
	publisherToken = "t-feed"
)

var staff = []config.Token{
	{Name: "admin", Token: adminToken, Roles: []string{auth.RoleAdmin}},
	{Name: "desk", Token: supportToken, Roles: []string{auth.RoleSupport}},
	{Name: "ops", Token: opsToken, Roles: []string{auth.RoleOps}},
	{Name: "feed", Token: publisherToken, Roles: []string{auth.RolePublisher}},
}

// settleTimeout bounds every wait for the instance's work (sends, counts):
// generous, for a busy 2-core machine under the race detector.
const settleTimeout = 60 * time.Second

// options shape a test's instance.
type options struct {
	// now starts the instance's fake clock; zero is the current minute.
	now time.Time
	// every is the period of the reminder steps; 0 sends each once.
	every time.Duration
	// callEvery, when set, is the call step's period instead of every.
	callEvery time.Duration
	// channels the policy "remind" sends on: sms, email and inapp with the
	// bundled template "overdue", voice with "call".
	channels []string
	// caps are the contact caps (none when nil).
	caps map[string]config.Cap
}

// instance is one forbear (internal/roof/app) on an embedded NATS of its own,
// with the fake Twilio API for SMS and calls and an SMTP server for email.
// Its clock is fake and it sweeps only when the test calls sweep, so what
// is due, and when, is the test's to say.
type instance struct {
	base   string
	app    *app.App
	nats   *testkit.NATS
	twilio *faketwilio.Server
	smtp   *smtpserver.Server
	clock  *clock.Fake
	// published counts the reminders the test's sweeps published.
	published atomic.Int64
}

// start runs an instance until the test ends.
func start(t *testing.T, o options) *instance {
	t.Helper()
	if o.now.IsZero() {
		o.now = time.Now().UTC().Truncate(time.Minute)
	}
	if o.channels == nil {
		o.channels = []string{"sms", "voice"}
	}
	in := &instance{nats: testkit.StartNATS(t), twilio: faketwilio.New(t),
		smtp: smtpserver.Start(t, smtpserver.Options{TLS: "none"}), clock: clock.NewFake(o.now)}

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Auth.Tokens = staff
	cfg.Scheduler.Timezone = "Asia/Shanghai"
	// No directory: the store is seeded with the bundled templates.
	cfg.TemplatesDir = ""
	host, port := in.smtp.Addr()
	cfg.Providers.SMS = config.Provider{Kind: "twilio", From: "+15005550006", Twilio: in.twilio.Twilio(), Concurrency: 16}
	cfg.Providers.Voice = config.Provider{Kind: "twilio", From: "+15005550006", Twilio: in.twilio.Twilio(), Concurrency: 4}
	cfg.Providers.Email = config.Provider{Kind: "smtp", From: "collections@example.com", Concurrency: 8,
		SMTP: config.SMTP{Host: host, Port: port, TLS: "none"}}
	cfg.Policies = []config.Policy{remindPolicy(o), config.ExamplePolicies()[1]}
	// No contact rules but the test's: a test must not depend on the hour
	// it runs at.
	cfg.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"}
	cfg.Compliance.Caps = o.caps
	if cfg.Compliance.Caps == nil {
		cfg.Compliance.Caps = map[string]config.Cap{}
	}

	ctx := testkit.Context(t, 10*time.Minute)
	log := logrus.New()
	log.SetOutput(io.Discard)
	var err error
	in.app, err = app.New(ctx, cfg, app.Options{NATSURL: in.nats.Server.ClientURL(), Instance: "forbear-1", Log: log,
		Clock: in.clock, NoScheduler: true, StatsInterval: 100 * time.Millisecond, Version: "v1.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = in.app.Stop(c)
	})
	in.base = "http://" + in.app.Addr()
	return in
}

// remindPolicy sends the bundled collection templates on o's channels from
// the due date on, then every o.every (once when it is 0): text channels
// with "overdue", voice with "call" (every o.callEvery when set).
func remindPolicy(o options) config.Policy {
	p := config.Policy{ID: "remind", Category: "collection"}
	step := func(id, template string, every time.Duration, chans []string) {
		if len(chans) == 0 {
			return
		}
		s := config.Step{ID: id, Channels: chans, Template: template}
		if every > 0 {
			e := config.Duration(every)
			s.Every = &e
		}
		p.Steps = append(p.Steps, s)
	}
	var text, voice []string
	for _, ch := range o.channels {
		if ch == string(domain.Voice) {
			voice = append(voice, ch)
		} else {
			text = append(text, ch)
		}
	}
	step("overdue", "overdue", o.every, text)
	step("call", "call", cmp.Or(o.callEvery, o.every), voice)
	return p
}

// borrower is a borrower with one overdue loan under the policy "remind".
type borrower struct {
	ID, Name, Locale, Zone, Phone, Email string
	Loan, Amount, Currency, Due          string
}

// eventSeq numbers the events of a test.
var eventSeq atomic.Int64

func event(typ string, data any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": fmt.Sprintf("ev-%d", eventSeq.Add(1)), "source": "browsertest",
		"type": typ, "data": data}
}

// load posts the borrowers and their loans through POST /v1/events.
func (in *instance) load(t *testing.T, bs ...borrower) {
	t.Helper()
	var events []map[string]any
	for _, b := range bs {
		events = append(events,
			event("borrower.upserted", map[string]any{"borrower_id": b.ID, "name": b.Name, "locale": b.Locale,
				"timezone": b.Zone, "phone": b.Phone, "email": b.Email}),
			event("loan.updated", map[string]any{"borrower_id": b.ID, "loan_id": b.Loan, "due_date": b.Due,
				"amount_due": b.Amount, "currency": b.Currency, "status": "overdue", "policy": "remind"}))
	}
	in.publish(t, events...)
}

// publish posts events through POST /v1/events.
func (in *instance) publish(t *testing.T, events ...map[string]any) {
	t.Helper()
	if status := in.api(t, http.MethodPost, "/v1/events", publisherToken, events, nil); status != http.StatusOK {
		t.Fatalf("POST /v1/events: %d", status)
	}
}

// api calls the HTTP API with a bearer token and a JSON body (nil: none),
// and decodes a 2xx answer into out (nil: not read).
func (in *instance) api(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, in.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return res.StatusCode
}

// stats is GET /v1/stats.
func (in *instance) stats(t *testing.T) stats.Snapshot {
	t.Helper()
	var s stats.Snapshot
	if status := in.api(t, http.MethodGet, "/v1/stats", adminToken, nil, &s); status != http.StatusOK {
		t.Fatalf("GET /v1/stats: %d", status)
	}
	return s
}

// mutes are the mutes GET /v1/borrowers/{id} lists, read with the support
// token.
func (in *instance) mutes(t *testing.T, borrowerID string) []domain.Mute {
	t.Helper()
	var v struct {
		Suppressions domain.Suppressions `json:"suppressions"`
	}
	if status := in.api(t, http.MethodGet, "/v1/borrowers/"+borrowerID, supportToken, nil, &v); status != http.StatusOK {
		t.Fatalf("GET /v1/borrowers/%s: %d", borrowerID, status)
	}
	return v.Suppressions.Mutes
}

// sweep runs one sweep at the fake clock's time and returns how many
// reminders it published.
func (in *instance) sweep(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	st, led, err := in.app.Scheduler().SweepIfLeader(ctx)
	if err != nil || !led {
		t.Fatalf("sweep: led %v, %v", led, err)
	}
	in.published.Add(int64(st.Published))
	return st.Published
}

// finalStatuses end a reminder's records; one of them follows every
// "queued".
var finalStatuses = []domain.Status{domain.Sent, domain.Delivered, domain.Failed, domain.Suppressed, domain.Capped}

// settle waits until every reminder the sweeps published is decided and
// counted: GET /v1/stats has as many queued records as were published, a
// final record for each, and nothing waiting in any queue.
func (in *instance) settle(t *testing.T) stats.Snapshot {
	t.Helper()
	var s stats.Snapshot
	testkit.Eventually(t, settleTimeout, "every published reminder decided and counted", func() bool {
		s = in.stats(t)
		week := s.Deliveries.Last7d.ByStatus
		var final int64
		for _, st := range finalStatuses {
			final += week[string(st)]
		}
		for _, n := range s.QueueDepth {
			if n != 0 {
				return false
			}
		}
		return week[string(domain.Queued)] == in.published.Load() && final == in.published.Load()
	})
	return s
}

// sentTo is how many SMS (kind faketwilio.SMS) or calls the fake Twilio
// accepted for a number.
func (in *instance) sentTo(kind faketwilio.Kind, number string) int {
	var list []faketwilio.Record
	if kind == faketwilio.SMS {
		list = in.twilio.Messages()
	} else {
		list = in.twilio.Calls()
	}
	n := 0
	for _, r := range list {
		if r.To == number && r.SID != "" {
			n++
		}
	}
	return n
}

// signIn opens a tab on the console, signs in with token through the
// sign-in form, and returns the tab, on the dashboard.
func (in *instance) signIn(t *testing.T, token string) context.Context {
	t.Helper()
	ctx := browser.Tab(t)
	signInTab(t, ctx, in.base, token)
	return ctx
}

// signInTab signs a tab in: the console sends it to the sign-in page, and
// the form brings it back to the dashboard.
func signInTab(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	browser.Open(t, ctx, base+"/console/", "#token")
	if got := browser.URL(t, ctx); !strings.HasPrefix(got, base+"/console/signin") {
		t.Fatalf("the console before sign-in is at %s, want the sign-in page", got)
	}
	browser.Fill(t, ctx, "#token", token)
	if status := browser.Submit(t, ctx, "#signin-submit"); status != http.StatusOK {
		t.Fatalf("sign-in: status %d", status)
	}
	if got := browser.URL(t, ctx); got != base+"/console/" {
		t.Fatalf("after sign-in the tab is at %s, want the dashboard", got)
	}
}

// today is the fake clock's date in Shanghai, the borrowers' due date.
func (in *instance) today() string {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	return in.clock.Now().In(sh).Format(time.DateOnly)
}
