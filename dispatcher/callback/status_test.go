package callback_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/callback"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/internal/twilioapi"
)

// bundle is a running intake over a real NATS, as a provider callback
// finds it.
type bundle struct {
	nats   *testkit.NATS
	state  *store.State
	intake *intake.Intake
	clock  *clock.Fake
}

func setup(t *testing.T) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	f := suppress.NewFence(st, suppress.FenceOptions{Instance: "a", Lease: 50 * time.Millisecond, Log: logging.Discard()})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids, err := n.JS.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	w := suppress.NewWriter(suppress.WriterOptions{State: st, Clock: clk, Log: logging.Discard()})
	in := intake.New(intake.Options{State: st, EventIDs: ids, Reindex: noReindex{}, Fence: f, Suppressions: w,
		Clock: clk, Log: logging.Discard(), AgreementPolicy: "plan"})
	return &bundle{nats: n, state: st, intake: in, clock: clk}
}

// noReindex is a scheduler that needs to recompute nothing.
type noReindex struct{}

func (noReindex) Reindex(context.Context, string, string) error { return nil }

type callbacks struct {
	nats     *testkit.NATS
	outcomes *callback.Outcomes
	ledger   *dispatcher.Ledger
	audit    *audit.Recorder
	call     domain.Reminder
	query    url.Values
}

// callbackSetup has a borrower with one voice call placed (its attempt
// reserved in the ledger) and the query its status callback carries.
func callbackSetup(t *testing.T) *callbacks {
	t.Helper()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	rules, err := compliance.Compile(config.Compliance{SendWindow: config.Window{Start: "00:00", End: "24:00"}, Caps: map[string]config.Cap{}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	led, err := dispatcher.NewLedger(ctx, b.nats.JS, rules, b.clock)
	if err != nil {
		t.Fatal(err)
	}
	rec := audit.New(b.nats.JS, "test")
	c := &callbacks{nats: b.nats, ledger: led, audit: rec,
		outcomes: &callback.Outcomes{Intake: b.intake, Ledger: led, Audit: rec, State: b.state, Clock: b.clock},
		call: domain.Reminder{ID: "loan-1/call/0/voice", BorrowerID: "b1", LoanID: "loan-1", Channel: domain.Voice,
			Category: domain.Collection, Step: "call", Template: "call"},
	}
	c.query, err = url.ParseQuery(callback.Query(c.call))
	if err != nil {
		t.Fatal(err)
	}
	d, err := led.Reserve(ctx, c.call, domain.Borrower{ID: "b1", Timezone: "UTC"})
	if err != nil || !d.Allowed {
		t.Fatalf("reserve: %+v %v", d, err)
	}
	return c
}

func callForm(sid, status, duration string) url.Values {
	f := url.Values{"CallSid": {sid}, "CallStatus": {status}}
	if duration != "" {
		f.Set("CallDuration", duration)
	}
	return f
}

func (c *callbacks) outcome(t *testing.T) string {
	t.Helper()
	a, found, err := c.ledger.Attempt(testkit.Context(t, time.Minute), c.call.BorrowerID, c.call.ID)
	if err != nil || !found {
		t.Fatalf("attempt: %v %v", found, err)
	}
	return a.Outcome
}

func (c *callbacks) records(t *testing.T) []domain.Delivery {
	t.Helper()
	list, err := c.audit.List(testkit.Context(t, time.Minute), c.call.BorrowerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// ledgerRevision is the revision of the borrower's ledger key: it moves
// with every write.
func (c *callbacks) ledgerRevision(t *testing.T) uint64 {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	kv, err := c.nats.JS.KeyValue(ctx, store.LedgerBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, store.Token(c.call.BorrowerID))
	if err != nil {
		t.Fatal(err)
	}
	return e.Revision()
}

// TestCallDurationIsStrict: a CallDuration that is not a non-negative
// decimal integer is refused, naming the field, and changes nothing. It
// used to be read as 0: a "completed" call that "only rang", which let the
// conversation rule be bypassed.
func TestCallDurationIsStrict(t *testing.T) {
	t.Parallel()
	c := callbackSetup(t)
	ctx := testkit.Context(t, time.Minute)
	rev := c.ledgerRevision(t)
	for _, bad := range []string{"abc", "-5", "42.0", "+5", " 5", "0x10", "", "12345678901234567890"} {
		form := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {bad}}
		err := c.outcomes.Status(ctx, c.query, form)
		var fe *intake.FieldError
		if !errors.As(err, &fe) || fe.Field != "CallDuration" {
			t.Errorf("CallDuration %q: err = %v, want a field error naming CallDuration", bad, err)
		}
	}
	form := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"1", "2"}}
	if err := c.outcomes.Status(ctx, c.query, form); err == nil {
		t.Error("two CallDuration values accepted")
	}
	if n := len(c.records(t)); n != 0 {
		t.Errorf("%d records after refused callbacks, want 0", n)
	}
	if c.ledgerRevision(t) != rev || c.outcome(t) != dispatcher.OutcomePending {
		t.Errorf("a refused callback changed the ledger (outcome %s)", c.outcome(t))
	}
	if err := c.outcomes.Status(ctx, c.query, callForm("CA1", "completed", "007")); err != nil {
		t.Fatalf("CallDuration 007: %v", err)
	}
	if got := c.outcome(t); got != compliance.OutcomeConnected {
		t.Errorf("completed after 7s: outcome %s, want connected", got)
	}
}

// TestConnectedCallStaysConnected: once a call connected, a later
// callback (a zero-length completion, a no-answer) does not turn the
// conversation back into a call that only rang.
func TestConnectedCallStaysConnected(t *testing.T) {
	t.Parallel()
	c := callbackSetup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := c.outcomes.Status(ctx, c.query, callForm("CA1", "completed", "42")); err != nil {
		t.Fatal(err)
	}
	if got := c.outcome(t); got != compliance.OutcomeConnected {
		t.Fatalf("outcome %s, want connected", got)
	}
	for _, later := range []url.Values{callForm("CA1", "completed", "0"), callForm("CA2", "no-answer", ""), callForm("CA3", "busy", "")} {
		if err := c.outcomes.Status(ctx, c.query, later); err != nil {
			t.Fatal(err)
		}
		if got := c.outcome(t); got != compliance.OutcomeConnected {
			t.Fatalf("after %s %s: outcome %s, want still connected", later.Get("CallStatus"), later.Get("CallDuration"), got)
		}
	}
}

// TestReplayedCallbackChangesNothing: a callback already applied (same
// reminder, status and SID), replayed later or many times at once, adds no
// record and does not touch the ledger.
func TestReplayedCallbackChangesNothing(t *testing.T) {
	t.Parallel()
	c := callbackSetup(t)
	ctx := testkit.Context(t, time.Minute)
	noAnswer := callForm("CA1", "no-answer", "")
	if err := c.outcomes.Status(ctx, c.query, noAnswer); err != nil {
		t.Fatal(err)
	}
	if n := len(c.records(t)); n != 1 {
		t.Fatalf("%d records after one callback, want 1", n)
	}
	rev := c.ledgerRevision(t)
	if err := c.outcomes.Status(ctx, c.query, noAnswer); err != nil {
		t.Fatal(err)
	}
	if n := len(c.records(t)); n != 1 {
		t.Fatalf("%d records after a replay, want 1", n)
	}
	if c.ledgerRevision(t) != rev {
		t.Fatal("a replay wrote the ledger")
	}

	// Twenty copies of a new callback at once: one record.
	completed := callForm("CA1", "completed", "42")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := c.outcomes.Status(ctx, c.query, completed); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	records := c.records(t)
	if len(records) != 2 || records[0].Status != domain.Delivered || records[0].ProviderRef != "CA1" {
		t.Fatalf("records %+v, want the no-answer and one connected call", records)
	}
	if got := c.outcome(t); got != compliance.OutcomeConnected {
		t.Fatalf("outcome %s, want connected", got)
	}

	// The same status from another call of the reminder is not a replay.
	if err := c.outcomes.Status(ctx, c.query, callForm("CA9", "no-answer", "")); err != nil {
		t.Fatal(err)
	}
	if n := len(c.records(t)); n != 3 {
		t.Fatalf("%d records after another call's callback, want 3", n)
	}
}

// TestReplayedMessageCallbackChangesNothing: the same holds for message
// status callbacks.
func TestReplayedMessageCallbackChangesNothing(t *testing.T) {
	t.Parallel()
	c := callbackSetup(t)
	ctx := testkit.Context(t, time.Minute)
	sms := domain.Reminder{ID: "loan-1/overdue/0/sms", BorrowerID: "b1", LoanID: "loan-1", Channel: domain.SMS, Category: domain.Collection}
	q, err := url.ParseQuery(callback.Query(sms))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	for range 3 {
		if err := c.outcomes.Status(ctx, q, form); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.records(t)); n != 1 {
		t.Fatalf("%d records after a message callback and two replays, want 1", n)
	}
}

// TestCallbackVoicemailFromTheAnswer: a completed call that an answering
// machine took is a voicemail in the ledger, not a conversation, even when
// the status callback leaves AnsweredBy out: the call's answer kept it.
// Its record carries the voicemail text.
func TestCallbackVoicemailFromTheAnswer(t *testing.T) {
	t.Parallel()
	c := callbackSetup(t)
	ctx := testkit.Context(t, time.Minute)
	calls, err := voice.OpenAnswers(ctx, c.nats.JS)
	if err != nil {
		t.Fatal(err)
	}
	c.outcomes.Calls = calls
	const left = "Please call Sam at 800-555-0100."
	if err := calls.Put(ctx, c.call.ID, voice.Call{BorrowerID: "b1", Script: "Your loan is overdue.", Locale: "en-US",
		Voicemail: left, VoicemailLocale: "en-US"}); err != nil {
		t.Fatal(err)
	}
	twiml, err := c.outcomes.Answer(ctx, c.call.ID, "machine_end_silence")
	if err != nil || !strings.Contains(twiml, left) || strings.Contains(twiml, "overdue") {
		t.Fatalf("answer = %q, %v; want the voicemail", twiml, err)
	}
	if err := c.outcomes.Status(ctx, c.query, callForm("CA1", "completed", "31")); err != nil {
		t.Fatal(err)
	}
	if got := c.outcome(t); got != compliance.OutcomeVoicemail {
		t.Errorf("outcome = %q, want %q", got, compliance.OutcomeVoicemail)
	}
	var rec domain.Delivery
	for _, d := range c.records(t) {
		if d.Status == domain.Delivered {
			rec = d
		}
	}
	if !strings.Contains(rec.Reason, "voicemail") || rec.Text != left {
		t.Errorf("record %+v, want a voicemail with its text", rec)
	}
	if twiml, err := c.outcomes.Answer(ctx, "loan-9/call/0/voice", "human"); err != nil || twiml != twilioapi.HangupTwiML {
		t.Errorf("a call with nothing kept: %q, %v; want a hang-up", twiml, err)
	}
}
