package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/testkit"
)

// metric sums the samples of the instance's /metrics that match series
// (0 when none): the name and every label the series gives, whatever other
// labels a sample has, so `x{rule="cap"}` counts x{citation="...",rule="cap",...}.
// Label values in series must not hold `",`.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	name, want, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	var pairs []string
	if want != "" {
		for _, p := range strings.Split(want, `",`) {
			pairs = append(pairs, strings.TrimSuffix(p, `"`)+`"`)
		}
	}
	_, body := do(t, http.MethodGet, base+"/metrics", "", nil)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		sample, value, ok := strings.Cut(line, "} ")
		labels := ""
		if ok {
			sample, labels, _ = strings.Cut(sample, "{")
		} else if sample, value, ok = strings.Cut(line, " "); !ok {
			continue
		}
		if sample != name {
			continue
		}
		matches := true
		for _, p := range pairs {
			matches = matches && strings.Contains(","+labels+",", ","+p+",")
		}
		if matches {
			f, _ := strconv.ParseFloat(value, 64)
			sum += f
		}
	}
	return sum
}

// postBorrower posts one borrower with one overdue loan.
func postBorrower(t *testing.T, base, id, phone, email, tz, due string) {
	t.Helper()
	events := []map[string]any{
		{"specversion": "1.0", "id": "bu-" + id, "source": "test", "type": "borrower.upserted",
			"data": map[string]any{"borrower_id": id, "name": "Borrower " + id, "locale": "en-US", "timezone": tz, "phone": phone, "email": email}},
		{"specversion": "1.0", "id": "lu-" + id, "source": "test", "type": "loan.updated",
			"data": map[string]any{"borrower_id": id, "loan_id": "loan-" + id, "due_date": due, "amount_due": "100.00",
				"currency": "USD", "status": "overdue", "policy": "tick"}},
	}
	if status, body := post(t, base+"/v1/events", events); status != http.StatusOK {
		t.Fatalf("post borrower: %d %s", status, body)
	}
}

// startWithClock runs an instance on the world's NATS until the test ends;
// its rules and schedule read clk (nil: the wall clock).
func (w *world) startWithClock(t *testing.T, cfg config.Config, name string, clk clock.Clock) *app.App {
	t.Helper()
	ctx := testkit.Context(t, 5*time.Minute)
	url := w.url
	if url == "" {
		url = w.nats.Server.ClientURL()
	}
	a, err := app.New(ctx, cfg, app.Options{NATSURL: url, Instance: name, Log: quiet(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.Stop(c)
	})
	return a
}

// TestNightTimeBorrowerWaitsForTheMorning: at 22:30 Shanghai time the SMS
// is deferred (one record saying until when), nothing reaches Twilio, and
// when the clock reaches 08:00 it goes out.
func TestNightTimeBorrowerWaitsForTheMorning(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	clk := clock.NewFake(time.Date(2026, 11, 23, 22, 30, 0, 0, sh))
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Dispatcher.MaxDefer = config.Duration(100 * time.Millisecond)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	postBorrower(t, "http://"+a.Addr(), "night", "+8613800000099", "night@example.com", "Asia/Shanghai", "2026-11-23")

	waitFor(t, 30*time.Second, "a deferred record", func() bool { return len(recordsFor(audit, "night", domain.Deferred)) > 0 })
	d := recordsFor(audit, "night", domain.Deferred)[0]
	if !strings.Contains(d.Reason, "send_window") || !strings.Contains(d.Reason, "08:00") {
		t.Errorf("deferred reason %q does not name the window and the morning", d.Reason)
	}
	// Several returns of the deferred reminder later (each one counted in
	// /metrics): still nothing sent, and the deferral was recorded once.
	waitFor(t, 30*time.Second, "the reminder to be decided again three times", func() bool {
		return metric(t, "http://"+a.Addr(), `forbear_compliance_decisions_total{rule="send_window",status="deferred"}`) >= 3
	})
	if n := len(w.twilio.Messages()); n != 0 {
		t.Fatalf("%d SMS sent at night", n)
	}
	if n := len(recordsFor(audit, "night", domain.Deferred)); n != 1 {
		t.Errorf("%d deferred records, want 1 (recorded once per reason)", n)
	}
	clk.Set(time.Date(2026, 11, 24, 8, 0, 0, 0, sh))
	waitFor(t, 30*time.Second, "the SMS in the morning", func() bool { return len(w.twilio.Messages()) == 1 })
}

// stepMinute advances the fake clock one minute and waits until the sweep
// has queued the next occurrence (the due index has minute resolution).
func stepMinute(t *testing.T, clk *clock.Fake, audit *auditLog, borrower string) {
	t.Helper()
	before := len(recordsFor(audit, borrower, domain.Queued))
	clk.Advance(time.Minute)
	waitFor(t, 30*time.Second, "the next occurrence queued", func() bool {
		return len(recordsFor(audit, borrower, domain.Queued)) > before
	})
}

// settled waits until every queued reminder of a borrower has an outcome.
func settled(t *testing.T, audit *auditLog, borrower string) {
	t.Helper()
	waitFor(t, 30*time.Second, "every queued reminder decided", func() bool {
		decided := map[string]bool{}
		queued := map[string]bool{}
		for _, d := range audit.all() {
			if d.BorrowerID != borrower {
				continue
			}
			if d.Status == domain.Queued {
				queued[d.ID] = true
			} else if d.Status != domain.Deferred {
				decided[d.ID] = true
			}
		}
		for id := range queued {
			if !decided[id] {
				return false
			}
		}
		return true
	})
}

func everyMinute(w *world, t *testing.T, chans ...string) config.Config {
	return w.config(t, time.Minute, chans...)
}

var noon = time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)

// TestCapAllowsExactlyN: a reminder every minute, a cap of 3 SMS a day:
// exactly 3 reach Twilio, the rest are capped with the cap named; a
// restart keeps the ledger.
func TestCapAllowsExactlyN(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(noon)
	w := newWorld(t)
	cfg := everyMinute(w, t, "sms")
	cfg.Compliance.Caps = map[string]config.Cap{"sms": {Max: 3, Per: config.Duration(24 * time.Hour)}}
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	postBorrower(t, "http://"+a.Addr(), "capped", "+15550000001", "c@example.com", "UTC", noon.Format(time.DateOnly))
	defer func() {
		if t.Failed() {
			audit.dump(t)
		}
	}()
	waitFor(t, 30*time.Second, "the first SMS", func() bool { return len(w.twilio.Messages()) == 1 })
	for range 4 {
		stepMinute(t, clk, audit, "capped")
	}
	settled(t, audit, "capped")
	if n := len(w.twilio.Messages()); n != 3 {
		t.Fatalf("%d SMS reached Twilio under a cap of 3", n)
	}
	capped := recordsFor(audit, "capped", domain.Capped)
	if len(capped) != 2 || !strings.HasPrefix(capped[0].Reason, "cap") {
		t.Fatalf("capped records %+v, want 2 naming the cap", capped)
	}
	// A restart keeps the ledger: a new instance on the same NATS still
	// sends nothing more (its lease comes once the old one's expires).
	a.Kill()
	w.startWithClock(t, cfg, "B", clk)
	for range 2 {
		stepMinute(t, clk, audit, "capped")
	}
	settled(t, audit, "capped")
	if n := len(w.twilio.Messages()); n != 3 {
		t.Fatalf("%d SMS reached Twilio after a restart, want still 3", n)
	}
}

// TestConnectedCallSilencesThatLoan: after a call Twilio reports as
// completed with a duration, no more calls about that loan.
func TestConnectedCallSilencesThatLoan(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(noon)
	w := newWorld(t)
	cfg := everyMinute(w, t, "voice")
	cfg.Compliance.Caps = nil // the built-in caps: 7 calls a week per loan would allow more calls
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	postBorrower(t, "http://"+a.Addr(), "talk", "+15550000002", "t@example.com", "UTC", noon.Format(time.DateOnly))
	defer func() {
		if t.Failed() {
			audit.dump(t)
		}
	}()
	waitFor(t, 30*time.Second, "the first call", func() bool { return len(w.twilio.Calls()) == 1 })
	ctx := testkit.Context(t, 30*time.Second)
	if err := w.twilio.CallEnded(ctx, w.twilio.Calls()[0], "completed", 42); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		stepMinute(t, clk, audit, "talk")
	}
	settled(t, audit, "talk")
	if n := len(w.twilio.Calls()); n != 1 {
		t.Fatalf("%d calls after a conversation, want 1", n)
	}
	conversation := 0
	for _, d := range recordsFor(audit, "talk", domain.Capped) {
		if strings.HasPrefix(d.Reason, "conversation") {
			conversation++
		}
	}
	if conversation != 2 {
		t.Errorf("%d calls capped by the conversation, want 2", conversation)
	}
	delivered := recordsFor(audit, "talk", domain.Delivered)
	if len(delivered) != 1 || !strings.Contains(delivered[0].Reason, "connected") {
		t.Fatalf("delivered records %+v, want one 'call connected'", delivered)
	}
}

// TestInboundStopEndsSMSButNotEmail: STOP by SMS opts the number out of
// SMS at once, with one confirmation; email goes on.
func TestInboundStopEndsSMSButNotEmail(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(noon)
	w := newWorld(t)
	cfg := everyMinute(w, t, "sms", "email")
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	const phone = "+15550000003"
	postBorrower(t, base, "stop", phone, "stop@example.com", "UTC", noon.Format(time.DateOnly))
	waitFor(t, 30*time.Second, "an SMS and an email", func() bool { return len(w.twilio.Messages()) == 1 && w.smtp.Count() == 1 })

	ctx := testkit.Context(t, 30*time.Second)
	if _, err := w.twilio.InboundSMS(ctx, base+"/v1/providers/twilio/inbound", phone, "+15005550006", "hello"); err != nil {
		t.Fatal(err) // not a keyword: nothing happens
	}
	if optOuts(t, base, "stop") != 0 {
		t.Fatalf("a message that is not a keyword opted the borrower out")
	}
	answer, err := w.twilio.InboundSMS(ctx, base+"/v1/providers/twilio/inbound", phone, "+15005550006", " stop ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "<Message>") {
		t.Errorf("no confirmation in the TwiML answer %q", answer)
	}
	for range 2 {
		stepMinute(t, clk, audit, "stop")
	}
	settled(t, audit, "stop")
	if n := len(w.twilio.Messages()); n != 1 {
		t.Fatalf("%d SMS, want only the one before STOP", n)
	}
	if n := w.smtp.Count(); n != 3 {
		t.Fatalf("%d emails, want 3: STOP must not end email", n)
	}
	if optOuts(t, base, "stop") != 1 {
		t.Fatalf("borrower page does not list the opt-out")
	}
	// Unsigned callbacks are refused.
	resp, err := http.Post(base+"/v1/providers/twilio/inbound", "application/x-www-form-urlencoded", strings.NewReader("From=%2B15550000003&Body=STOP"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned inbound: %d, want 403", resp.StatusCode)
	}
}

// TestLongDeferralLeavesTheConsumerWindow: a deferral longer than a few
// seconds goes to the stream's message scheduler, so the deferred reminder
// holds no place in the channel consumer's ack window (a night in one zone
// must not stall borrowers elsewhere), and it comes back and goes out when
// the window opens.
func TestLongDeferralLeavesTheConsumerWindow(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	clk := clock.NewFake(time.Date(2026, 11, 23, 22, 30, 0, 0, sh))
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.SendWindow = config.Window{Start: "08:00", End: "21:00"}
	cfg.Dispatcher.MaxDefer = config.Duration(6 * time.Second)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	postBorrower(t, "http://"+a.Addr(), "late", "+8613800000098", "late@example.com", "Asia/Shanghai", "2026-11-23")
	waitFor(t, 30*time.Second, "a deferred record", func() bool { return len(recordsFor(audit, "late", domain.Deferred)) > 0 })

	ctx := testkit.Context(t, time.Minute)
	cons, err := w.nats.JS.Consumer(ctx, store.RemindersStream, dispatcher.ConsumerName(domain.SMS))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the consumer to hold nothing", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	clk.Set(time.Date(2026, 11, 24, 8, 0, 0, 0, sh))
	waitFor(t, 30*time.Second, "the SMS once the window opens", func() bool { return len(w.twilio.Messages()) == 1 })
}

// TestDeferredSMSNamesItsRuleAndCitation: under us-regf an SMS to a
// number nobody confirmed is deferred, and its audit record and the
// decisions metric name the rule, the pack and the article; nothing
// reaches Twilio until the borrower's consent to SMS is recorded, and then
// the same reminder goes out (deferred, not dropped).
func TestDeferredSMSNamesItsRuleAndCitation(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, ny))
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Compliance.Preset = config.Presets{"us-regf"}
	cfg.Dispatcher.MaxDefer = config.Duration(100 * time.Millisecond)
	audit := watchAudit(t, w.nats.Conn)
	a := w.startWithClock(t, cfg, "A", clk)
	base := "http://" + a.Addr()
	postBorrower(t, base, "unchecked", "+12125550100", "u@example.com", "America/New_York", "2026-11-23")
	defer func() {
		if t.Failed() {
			audit.dump(t)
		}
	}()

	waitFor(t, 30*time.Second, "a deferred record", func() bool { return len(recordsFor(audit, "unchecked", domain.Deferred)) > 0 })
	d := recordsFor(audit, "unchecked", domain.Deferred)[0]
	if want := "number_check[us-regf 12 CFR 1006.6(d)(5)]: "; !strings.HasPrefix(d.Reason, want) {
		t.Fatalf("deferred reason %q does not start with %q", d.Reason, want)
	}
	series := `forbear_compliance_decisions_total{citation="12 CFR 1006.6(d)(5)",pack="us-regf",rule="number_check",status="deferred"}`
	waitFor(t, 30*time.Second, "the reminder decided again, counted with its pack and citation", func() bool { return metric(t, base, series) >= 3 })
	if n := len(w.twilio.Messages()); n != 0 {
		t.Fatalf("%d SMS sent to a number nobody confirmed", n)
	}
	if n := len(recordsFor(audit, "unchecked", domain.Deferred)); n != 1 {
		t.Errorf("%d deferred records, want 1 (recorded once per reason)", n)
	}

	consent := map[string]any{"specversion": "1.0", "id": "consent-1", "source": "test", "type": "borrower.consented",
		"data": map[string]any{"borrower_id": "unchecked", "channel": "sms"}}
	if status, body := post(t, base+"/v1/events", consent); status != http.StatusOK {
		t.Fatalf("consent: %d %s", status, body)
	}
	waitFor(t, 30*time.Second, "the SMS once the consent is recorded", func() bool { return len(w.twilio.Messages()) == 1 })
	// The sent record is written after the provider call returns.
	waitFor(t, 30*time.Second, "the sent record", func() bool { return len(recordsFor(audit, "unchecked", domain.Sent)) > 0 })
	if sent := recordsFor(audit, "unchecked", domain.Sent); len(sent) != 1 || sent[0].ID != d.ID {
		t.Fatalf("sent records %+v, want the deferred reminder %s", sent, d.ID)
	}
}
