package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/console"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/scheduler"
)

var supportTokens = []config.Token{
	{Name: "desk", Token: "t-desk", Roles: []string{auth.RoleSupport}},
	{Name: "ops", Token: "t-ops", Roles: []string{auth.RoleOps}},
	{Name: "root", Token: "t-admin", Roles: []string{auth.RoleAdmin}},
	{Name: "feed", Token: "t-pub", Roles: []string{auth.RolePublisher}},
}

// supportNow is the instance's clock in these tests: 01:00 on 24 November
// 2026 in Shanghai (17:00 UTC the day before), when the send window is
// shut.
var supportNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

// supportBundle is the HTTP API and the console on one embedded NATS, with
// the real stores, intake (behind a running fence), audit trail, inbox and
// support read model, wired as internal/roof/app wires them, behind one test
// server.
type supportBundle struct {
	srv    *httptest.Server
	nats   *testkit.NATS
	state  *store.State
	intake *intake.Intake
	audit  *audit.Recorder
	inbox  *inapp.Inbox
	clock  *clock.Fake
	ctx    context.Context
}

// newSupport starts the bundle; lease is the fence lease (a mute is
// acknowledged two leases after it is stored).
func newSupport(t testing.TB, lease time.Duration) *supportBundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 2*time.Minute)
	log := logging.Discard()
	state, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(supportNow)
	fence := suppress.NewFence(state, suppress.FenceOptions{Instance: "t", Lease: lease, Log: log})
	if err := fence.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	pols, err := scheduler.Compile(cfg.Policies)
	if err != nil {
		t.Fatal(err)
	}
	rec := audit.New(n.JS, "t")
	sched, err := scheduler.New(scheduler.Options{JS: n.JS, State: state, Audit: rec, Policies: pols,
		AgreementPolicy: cfg.Agreements.Policy, Clock: clk, Log: log, Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := n.JS.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		t.Fatal(err)
	}
	w := suppress.NewWriter(suppress.WriterOptions{State: state, Clock: clk, Log: log})
	in := intake.New(intake.Options{State: state, EventIDs: ids, Reindex: sched, Fence: fence, Suppressions: w,
		Clock: clk, Log: log, AgreementPolicy: cfg.Agreements.Policy})
	inbox, err := inapp.New(n.JS, inapp.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := compliance.Compile(cfg.Compliance, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := dispatcher.NewLedger(ctx, n.JS, rules, clk)
	if err != nil {
		t.Fatal(err)
	}
	svc := support.New(support.Options{State: state, Ledger: ledger, Policies: pols, AgreementPolicy: cfg.Agreements.Policy,
		DefaultZone: time.UTC, PhoneRegion: "CN", Clock: clk, Log: log})
	authn := auth.New(supportTokens, nil)
	signer := signing.New([]byte("secret"))
	con, err := console.New(console.Options{Auth: authn, Signer: signer, DefaultZone: time.UTC, Log: log,
		Support: console.SupportDeps{Borrowers: svc, Intake: in, Deliveries: rec, Inbox: inbox, Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Auth: authn, Console: con, Intake: in, State: state, Audit: rec, Fence: fence,
		Inbox: inboxAPI{inbox}, Support: svc, Signer: signer, DefaultZone: time.UTC, Log: log})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &supportBundle{srv: srv, nats: n, state: state, intake: in, audit: rec, inbox: inbox, clock: clk, ctx: ctx}
}

// inboxAPI is the inbox as the API takes it (internal/roof/app has the same
// adapter).
type inboxAPI struct{ inbox *inapp.Inbox }

func (i inboxAPI) ListJSON(ctx context.Context, borrowerID string) (any, error) {
	return i.inbox.List(ctx, borrowerID)
}

func (i inboxAPI) MarkRead(ctx context.Context, borrowerID, messageID string) error {
	if err := i.inbox.MarkRead(ctx, borrowerID, messageID); errors.Is(err, inapp.ErrNotFound) {
		return intake.ErrNotFound
	} else {
		return err
	}
}

func (i inboxAPI) ServeStream(w http.ResponseWriter, r *http.Request, borrowerID string) {
	i.inbox.ServeStream(w, r, borrowerID)
}

// browser is a signed-in browser (cookie jar, redirects not followed);
// header pairs are sent with every request (Accept-Language, say).
func (b *supportBundle) browser(t testing.TB, token string) *site {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &site{srv: b.srv, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	s.signIn(t, token)
	return s
}

// api calls the HTTP API with a bearer token and decodes a 2xx answer
// into out (if not nil).
func (b *supportBundle) api(t testing.TB, method, path, token, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return res.StatusCode
}

// publish sends events through POST /v1/events.
func (b *supportBundle) publish(t testing.TB, events ...string) {
	t.Helper()
	if status := b.api(t, http.MethodPost, "/v1/events", "t-pub", "["+strings.Join(events, ",")+"]", nil); status != http.StatusOK {
		t.Fatalf("events: %d", status)
	}
}

// supEventSeq numbers event ids (tests run in parallel).
var supEventSeq atomic.Int64

// supEvent is a CloudEvent of type typ with data (a JSON object).
func supEvent(typ, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":"e-%d","source":"test","type":%q,"data":%s}`,
		supEventSeq.Add(1), typ, data)
}

func borrowerUpserted(id, name, phone, email string) string {
	return supEvent("borrower.upserted", fmt.Sprintf(`{"borrower_id":%q,"name":%q,"locale":"zh-CN","timezone":"Asia/Shanghai","phone":%q,"email":%q}`,
		id, name, phone, email))
}

func loanUpdated(borrower, loan, due string) string {
	return supEvent("loan.updated", fmt.Sprintf(`{"borrower_id":%q,"loan_id":%q,"due_date":%q,"amount_due":"1200.00","currency":"CNY","status":"overdue"}`,
		borrower, loan, due))
}

func (b *supportBundle) apiBorrower(t *testing.T, id string) support.View {
	t.Helper()
	var v support.View
	if status := b.api(t, http.MethodGet, "/v1/borrowers/"+id, "t-desk", "", &v); status != http.StatusOK {
		t.Fatalf("GET /v1/borrowers/%s: %d", id, status)
	}
	return v
}

// byID returns the opening tag and the inner HTML of the element with id
// (the opening tag only for a void element).
func byID(t *testing.T, body, id string) (open, inner string) {
	t.Helper()
	at := strings.Index(body, ` id="`+id+`"`)
	if at < 0 {
		t.Fatalf("no element with id %q in the page", id)
	}
	return elementAt(t, body, at)
}

// allByTestID returns the inner HTML of every element with data-testid
// testid, with its opening tag.
func allByTestID(t *testing.T, body, testid string) (opens, inners []string) {
	t.Helper()
	needle := ` data-testid="` + testid + `"`
	for from := 0; ; {
		at := strings.Index(body[from:], needle)
		if at < 0 {
			return opens, inners
		}
		open, inner := elementAt(t, body, from+at)
		opens, inners = append(opens, open), append(inners, inner)
		from += at + len(needle)
	}
}

// elementAt is the element whose opening tag holds position at.
func elementAt(t *testing.T, body string, at int) (open, inner string) {
	t.Helper()
	start := strings.LastIndex(body[:at], "<")
	end := start + strings.Index(body[start:], ">")
	tag := strings.Fields(body[start+1 : end])[0]
	if tag == "input" {
		return body[start : end+1], ""
	}
	openRE := regexp.MustCompile(`<` + tag + `[\s>]`)
	depth, pos := 1, end+1
	for {
		closing := strings.Index(body[pos:], "</"+tag+">")
		if closing < 0 {
			t.Fatalf("element at %d (%s) is not closed", at, tag)
		}
		depth += len(openRE.FindAllStringIndex(body[pos:pos+closing], -1)) - 1
		if depth == 0 {
			return body[start : end+1], body[end+1 : pos+closing]
		}
		pos += closing + len("</"+tag+">")
	}
}

var supTagRE = regexp.MustCompile(`<[^>]*>`)

// words is the text of inner HTML: tags removed, entities decoded, spaces
// folded.
func words(inner string) string {
	return strings.Join(strings.Fields(html.UnescapeString(supTagRE.ReplaceAllString(inner, " "))), " ")
}

// attrOf is the value of attribute name in an opening tag.
func attrOf(open, name string) string {
	m := regexp.MustCompile(`\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(open)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

const (
	liPhone = "+8613800000001"
	liEmail = "li.lei@example.com"
)

// addLi loads borrower b-li (Shanghai): loan L-1 overdue since 20
// November, loan L-2 under agreement A-1 (two instalments), calls muted by
// desk through the API (with the number in the reason), SMS to the number
// opted out at the provider, and three delivery records. It returns the
// mute's id.
func (b *supportBundle) addLi(t *testing.T) string {
	t.Helper()
	b.publish(t,
		borrowerUpserted("b-li", "Li Lei", liPhone, liEmail),
		loanUpdated("b-li", "L-1", "2026-11-20"),
		loanUpdated("b-li", "L-2", "2026-11-10"),
		supEvent("agreement.activated", `{"borrower_id":"b-li","agreement_id":"A-1","kind":"installment","loan_ids":["L-2"],
			"installments":[{"due_date":"2026-12-01","amount":"300.00"},{"due_date":"2026-12-15","amount":"300.00"}]}`),
	)
	var m domain.Mute
	if status := b.api(t, http.MethodPost, "/v1/borrowers/b-li/mutes", "t-desk",
		`{"channels":["voice"],"reason":"complaint; called from `+liPhone+`"}`, &m); status != http.StatusCreated {
		t.Fatalf("mute: %d", status)
	}
	if err := b.intake.AddOptOut(b.ctx, "b-li", domain.OptOut{Channel: domain.SMS, Address: liPhone, Source: "twilio-21610",
		At: supportNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rem := domain.Reminder{ID: "L-1/overdue/0/sms", BorrowerID: "b-li", LoanID: "L-1", Channel: domain.SMS,
		Category: domain.Collection, Step: "overdue", Template: "overdue"}
	queued := domain.NewDelivery(rem, domain.Queued, supportNow.Add(-3*time.Hour))
	sent := domain.NewDelivery(rem, domain.Sent, supportNow.Add(-2*time.Hour))
	sent.To, sent.ProviderRef, sent.TemplateVersion = liPhone, "SM0001", 3
	sent.SetText("", "Hi Li Lei, loan L-1 is overdue. Questions? We call you on "+liPhone+". Reply STOP")
	mail := domain.NewDelivery(domain.Reminder{ID: "L-1/overdue/0/email", BorrowerID: "b-li", LoanID: "L-1", Channel: domain.Email,
		Category: domain.Collection, Step: "overdue", Template: "overdue"}, domain.Failed, supportNow.Add(-time.Hour))
	mail.To, mail.Reason, mail.TemplateVersion = liEmail, "smtp: 550 mailbox "+liEmail+" unavailable", 3
	mail.SetText("Loan L-1 is overdue", "Dear Li Lei, please repay.")
	for _, d := range []domain.Delivery{queued, sent, mail} {
		if err := b.audit.Record(b.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return m.ID
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
