package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/console"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/testkit"
)

// staffTokens holds one token per staff role, and one with two.
var staffTokens = []config.Token{
	{Name: "pub", Token: "t-pub", Roles: []string{auth.RolePublisher}},
	{Name: "ops", Token: "t-ops", Roles: []string{auth.RoleOps}},
	{Name: "desk", Token: "t-desk", Roles: []string{auth.RoleSupport}},
	{Name: "root", Token: "t-root", Roles: []string{auth.RoleAdmin}},
}

// dashWorld is a NATS with forbear's streams, buckets and channel
// consumers, and one HTTP server with the API and the console on it, as
// an instance serves them, both reading the figures through one
// stats.Reader on a fake clock.
type dashWorld struct {
	nats *testkit.NATS
	// readerConn is the connection the figures are read on.
	readerConn *nats.Conn
	clock      *clock.Fake
	srv        *httptest.Server
}

func newDashWorld(t *testing.T, now time.Time, tokens []config.Token) *dashWorld {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	// The consumers the channel workers make; queue depth reads them.
	for _, ch := range domain.Channels {
		if _, err := n.JS.CreateOrUpdateConsumer(ctx, store.RemindersStream, jetstream.ConsumerConfig{
			Durable: dispatcher.ConsumerName(ch), FilterSubject: store.RemindersPrefix + string(ch) + ".>",
			AckPolicy: jetstream.AckExplicitPolicy,
		}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewFake(now)
	nc, js := n.Connect(t)
	reader, err := stats.NewReader(ctx, js, clk)
	if err != nil {
		t.Fatal(err)
	}
	authn := auth.New(tokens, nil)
	con, err := console.New(console.Options{Auth: authn, Signer: signing.New([]byte("secret")),
		Dashboard: console.DashboardDeps{Stats: reader}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Auth: authn, Stats: reader, Console: con}))
	t.Cleanup(srv.Close)
	return &dashWorld{nats: n, readerConn: nc, clock: clk, srv: srv}
}

// browser is a new client of the world's server with its own cookies.
func (w *dashWorld) browser(t *testing.T) *site {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &site{srv: w.srv, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// api reads GET /v1/stats with token.
func (w *dashWorld) api(t *testing.T, token string) stats.Snapshot {
	t.Helper()
	s := w.browser(t)
	res := s.get(t, "/v1/stats", "Authorization", "Bearer "+token)
	if res.status != http.StatusOK {
		t.Fatalf("GET /v1/stats: %d %s", res.status, res.body)
	}
	var snap stats.Snapshot
	if err := json.Unmarshal([]byte(res.body), &snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

// count records n delivery records of channel and status at, as an
// instance's audit Recorder does, and folds them into the stats bucket.
func (w *dashWorld) count(t *testing.T, name string, records ...domain.Delivery) {
	t.Helper()
	_, js := w.nats.Connect(t)
	ctx := testkit.Context(t, time.Minute)
	c, err := stats.NewCounter(ctx, js, stats.CounterOptions{Instance: name, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range records {
		c.Add(d)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func records(at time.Time, ch domain.Channel, st domain.Status, n int) []domain.Delivery {
	out := make([]domain.Delivery, n)
	for i := range out {
		out[i] = domain.Delivery{ID: fmt.Sprintf("r-%d", i), BorrowerID: "b", Channel: ch, Status: st, At: at}
	}
	return out
}

// deferReminder puts rem in the REMINDERS stream's message scheduler until
// at, as a worker defers a reminder outside its send window.
func (w *dashWorld) deferReminder(t *testing.T, rem domain.Reminder, at time.Time) {
	t.Helper()
	data, _ := json.Marshal(rem)
	if _, err := w.nats.JS.PublishMsg(testkit.Context(t, time.Minute),
		&nats.Msg{Subject: store.SchedulesPrefix + store.Token(rem.ID), Data: data},
		jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(store.ReminderSubject(string(rem.Channel), rem.BorrowerID))); err != nil {
		t.Fatal(err)
	}
}

// refuse dead-letters an event as the intake does with an invalid one.
func (w *dashWorld) refuse(t *testing.T, id, reason, field string) {
	t.Helper()
	m := nats.NewMsg(store.DLQEventsSubject)
	m.Data = []byte(`{"specversion":"1.0","id":"` + id + `","type":"loan.updated","data":{"phone":"+8613800000001"}}`)
	m.Header.Set(intake.HeaderDLQReason, reason)
	m.Header.Set(intake.HeaderDLQField, field)
	m.Header.Set(intake.HeaderDLQSubject, "forbear.events.loan.updated")
	if _, err := w.nats.JS.PublishMsg(testkit.Context(t, time.Minute), m); err != nil {
		t.Fatal(err)
	}
}

// queue publishes n reminders for channel's workers (none runs here).
func (w *dashWorld) queue(t *testing.T, ch domain.Channel, n int) {
	t.Helper()
	for i := range n {
		if _, err := w.nats.JS.Publish(testkit.Context(t, time.Minute), store.ReminderSubject(string(ch), fmt.Sprintf("q-%d", i)), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
}

// beat starts instance name's heartbeat until the test ends.
func (w *dashWorld) beat(t *testing.T, name, host string) {
	t.Helper()
	_, js := w.nats.Connect(t)
	ctx := testkit.Context(t, time.Minute)
	h, err := stats.NewHeartbeat(ctx, js, stats.Instance{Name: name, Host: host, Version: "v-test"}, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background()) })
}

// lease gives the sweep lease to holder until expires, as the scheduler
// takes it.
func (w *dashWorld) lease(t *testing.T, holder string, expires time.Time) {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	kv, err := w.nats.JS.KeyValue(ctx, store.LeasesBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "scheduler", fmt.Appendf(nil, `{"holder":%q,"expires":%q}`, holder, expires.UTC().Format(time.RFC3339Nano))); err != nil {
		t.Fatal(err)
	}
}

// element is an element of a page that carries a data-testid: its other
// attributes and its text up to its first child.
type element struct {
	attrs string
	text  string
}

var (
	testIDElement = regexp.MustCompile(`<[a-z]+((?:\s+[a-z-]+(?:="[^"]*")?)*?)\s+data-testid="([^"]+)"((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*/?>([^<]*)`)
	attribute     = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
)

// elements lists a page's elements by data-testid, in page order.
func (p page) elements() map[string][]element {
	out := map[string][]element{}
	for _, m := range testIDElement.FindAllStringSubmatch(p.body, -1) {
		out[m[2]] = append(out[m[2]], element{attrs: m[1] + " " + m[3], text: html.UnescapeString(strings.TrimSpace(m[4]))})
	}
	return out
}

func (e element) attr(name string) string {
	for _, m := range attribute.FindAllStringSubmatch(e.attrs, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// number is the one element with id, as a number.
func number(t *testing.T, els map[string][]element, id string) int64 {
	t.Helper()
	e := els[id]
	if len(e) != 1 {
		t.Fatalf("%d elements with data-testid %q, want one", len(e), id)
	}
	n, err := strconv.ParseInt(e[0].text, 10, 64)
	if err != nil {
		t.Fatalf("data-testid %q: %q is not a number", id, e[0].text)
	}
	return n
}

// dashboardData fills a world with figures of every kind around now.
func dashboardData(t *testing.T, w *dashWorld, now time.Time) {
	t.Helper()
	var rs []domain.Delivery
	rs = append(rs, records(now, domain.SMS, domain.Sent, 3)...)
	rs = append(rs, records(now, domain.SMS, domain.Capped, 2)...)
	rs = append(rs, records(now.Add(-5*time.Hour), domain.Email, domain.Suppressed, 1)...)
	rs = append(rs, records(now.Add(-23*time.Hour), domain.Voice, domain.Queued, 4)...)
	rs = append(rs, records(now.Add(-24*time.Hour), domain.Voice, domain.Failed, 1)...)      // 7 days only
	rs = append(rs, records(now.Add(-3*24*time.Hour), domain.InApp, domain.Delivered, 5)...) // 7 days only
	rs = append(rs, records(now.Add(-167*time.Hour), domain.SMS, domain.Suppressed, 1)...)   // the oldest hour counted
	rs = append(rs, records(now.Add(-168*time.Hour), domain.SMS, domain.Deferred, 9)...)     // too old
	w.count(t, "A", rs...)
	w.count(t, "B", records(now.Add(-2*time.Hour), domain.SMS, domain.Capped, 1)...)

	// The server's message scheduler runs on the wall clock, not on now.
	until := time.Now().Add(90 * time.Minute).Truncate(time.Second)
	w.deferReminder(t, domain.Reminder{ID: "L-1/overdue/1/sms", BorrowerID: "b-1", LoanID: "L-1", Channel: domain.SMS, Step: "overdue"}, until)
	w.deferReminder(t, domain.Reminder{ID: "L-2/overdue/1/voice", BorrowerID: "b/2", LoanID: "L-2", Channel: domain.Voice, Step: "overdue"}, until.Add(time.Hour))
	w.refuse(t, "ev-1", "data.due_date: not a date", "data.due_date")
	w.refuse(t, "ev-2", "data.amount_due: not a number", "data.amount_due")
	w.queue(t, domain.Email, 3)
	w.beat(t, "A", "host-a")
	w.beat(t, "B", "host-b")
	w.lease(t, "B", now.Add(15*time.Second))
}

type testRow struct {
	id string
	el element
}

// rowsWithPrefix lists the table rows whose data-testid is prefix and a
// date, in page order.
func rowsWithPrefix(els map[string][]element, prefix string) []testRow {
	day := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\d{4}-\d{2}-\d{2}$`)
	var out []testRow
	for id, list := range els {
		if day.MatchString(id) && len(list) == 1 {
			out = append(out, testRow{id: id, el: list[0]})
		}
	}
	return out
}
