package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// reindexLog records what intake asked the scheduler to recompute.
type reindexLog struct {
	mu   sync.Mutex
	seen []string
}

func (r *reindexLog) Reindex(_ context.Context, kind, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, kind+":"+id)
	return nil
}

type bundle struct {
	nats    *testkit.NATS
	state   *store.State
	fence   *suppress.Fence
	intake  *intake.Intake
	reindex *reindexLog
	clock   *clock.Fake
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupLease(t, 50*time.Millisecond)
}

// setupLease is setup with a given fence lease: a long one makes the order
// of a hold and an answer unambiguous, a short one keeps tests that add
// many suppressions quick.
func setupLease(t *testing.T, lease time.Duration) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	f := suppress.NewFence(st, suppress.FenceOptions{Instance: "a", Lease: lease, Log: logging.Discard()})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids, err := n.JS.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		t.Fatal(err)
	}
	rl := &reindexLog{}
	clk := clock.NewFake(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	w := suppress.NewWriter(suppress.WriterOptions{State: st, Clock: clk, Log: logging.Discard()})
	in := intake.New(intake.Options{State: st, EventIDs: ids, Reindex: rl, Fence: f, Suppressions: w,
		Clock: clk, Log: logging.Discard(), AgreementPolicy: "plan"})
	return &bundle{nats: n, state: st, fence: f, intake: in, reindex: rl, clock: clk}
}

func event(id, typ string, data any) intake.Event {
	raw, _ := json.Marshal(data)
	return intake.Event{SpecVersion: "1.0", ID: id, Source: "test", Type: typ, Data: raw}
}

func borrowerEvent(id, borrower string) intake.Event {
	return event(id, intake.TypeBorrowerUpserted, map[string]string{
		"borrower_id": borrower, "name": "Li Lei", "locale": "zh-CN", "timezone": "Asia/Shanghai",
		"phone": "+8613800000001", "email": "li@example.com"})
}

func loanEvent(id, borrower, loan string) intake.Event {
	return event(id, intake.TypeLoanUpdated, map[string]string{
		"borrower_id": borrower, "loan_id": loan, "due_date": "2026-11-23", "amount_due": "1200.00",
		"currency": "CNY", "status": "current", "policy": "standard"})
}

func TestMuteAcknowledgementWaitsOneLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := b.intake.AddMute(ctx, "b1", intake.MuteRequest{Channels: []domain.Channel{domain.SMS}, Reason: "complaint"}, "desk")
	if err != nil {
		t.Fatal(err)
	}
	if held := time.Since(start); held < 2*b.fence.Lease() {
		t.Fatalf("mute acknowledged after %v, before two fence leases (%v each)", held, b.fence.Lease())
	}
	sup, _, err := b.fence.Check(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	r := domain.Reminder{BorrowerID: "b1", LoanID: "l1", Channel: domain.SMS, Category: domain.Collection}
	if blk, ok := sup.Blocking(r, "+8613800000001", b.clock.Now()); !ok || blk.ID != m.ID {
		t.Fatalf("sms not blocked by the mute: %+v %v", blk, ok)
	}
	r.Channel = domain.Email
	if _, ok := sup.Blocking(r, "li@example.com", b.clock.Now()); ok {
		t.Fatalf("email blocked by an sms-only mute")
	}
	if err := b.intake.DeleteMute(ctx, "b1", m.ID, "desk"); err != nil {
		t.Fatal(err)
	}
	if err := b.intake.DeleteMute(ctx, "b1", m.ID, "desk"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("second delete: err = %v, want ErrNotFound", err)
	}
}

func TestMuteValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1")}); err != nil {
		t.Fatal(err)
	}
	past := b.clock.Now().Add(-time.Hour)
	tests := []struct {
		name      string
		borrower  string
		req       intake.MuteRequest
		wantField string
		wantErr   error
	}{
		{"unknown borrower", "nobody", intake.MuteRequest{Reason: "x"}, "", intake.ErrNotFound},
		{"bad channel", "b1", intake.MuteRequest{Channels: []domain.Channel{"fax"}, Reason: "x"}, "channels[0]", nil},
		{"until in the past", "b1", intake.MuteRequest{Until: &past, Reason: "x"}, "until", nil},
		{"no reason", "b1", intake.MuteRequest{}, "reason", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.intake.AddMute(ctx, tt.borrower, tt.req, "desk")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a field error on %q", err, tt.wantField)
			}
		})
	}
}

func TestParseEventsNamesTheField(t *testing.T) {
	t.Parallel()
	good := `{"specversion":"1.0","id":"e1","source":"s","type":"loan.updated","data":{"borrower_id":"b","loan_id":"l","due_date":"2026-11-23","amount_due":"1.00","currency":"CNY","status":"current"}}`
	tests := []struct {
		name      string
		body      string
		wantField string
		wantCode  string
	}{
		{"good", good, "", ""},
		{"empty", ``, "", "invalid_json"},
		{"not json", `{`, "", "invalid_json"},
		{"spec version", `{"specversion":"0.3","id":"e","source":"s","type":"loan.updated","data":{}}`, "specversion", "invalid_field"},
		{"no id", `{"specversion":"1.0","source":"s","type":"loan.updated","data":{}}`, "id", "invalid_field"},
		{"unknown type", `{"specversion":"1.0","id":"e","source":"s","type":"loan.exploded","data":{}}`, "type", "unknown_type"},
		{"bad due date", `{"specversion":"1.0","id":"e","source":"s","type":"loan.updated","data":{"borrower_id":"b","loan_id":"l","due_date":"23/11/2026","amount_due":"1.00","currency":"CNY","status":"current"}}`, "data.due_date", "invalid_field"},
		{"bad amount", `{"specversion":"1.0","id":"e","source":"s","type":"loan.updated","data":{"borrower_id":"b","loan_id":"l","due_date":"2026-11-23","amount_due":"lots","currency":"CNY","status":"current"}}`, "data.amount_due", "invalid_field"},
		{"bad phone", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":"b","phone":"13800000000"}}`, "data.phone", "invalid_field"},
		{"bad timezone", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":"b","timezone":"Mars/Olympus"}}`, "data.timezone", "invalid_field"},
		{"wrong type", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":7}}`, "data.borrower_id", "invalid_field"},
		{"agreement without loans", `{"specversion":"1.0","id":"e","source":"s","type":"agreement.activated","data":{"borrower_id":"b","agreement_id":"a","kind":"installment","loan_ids":[]}}`, "data.loan_ids", "invalid_field"},
		{"bad installment", `{"specversion":"1.0","id":"e","source":"s","type":"agreement.activated","data":{"borrower_id":"b","agreement_id":"a","kind":"installment","loan_ids":["l"],"installments":[{"due_date":"x","amount":"1"}]}}`, "data.installments[0].due_date", "invalid_field"},
		{"bad blackout", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":"b","blackouts":[{"start":"9am","end":"17:00"}]}}`, "data.blackouts[0].start", "invalid_field"},
		{"blackout channel", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.upserted","data":{"borrower_id":"b","blackouts":[{"start":"09:00","end":"17:00","channels":["pigeon"]}]}}`, "data.blackouts[0].channels[0]", "invalid_field"},
		{"ceased needs borrower", `{"specversion":"1.0","id":"e","source":"s","type":"borrower.ceased","data":{}}`, "data.borrower_id", "invalid_field"},
		{"batch names index", `[` + good + `,{"specversion":"1.0","id":"e2","source":"s","type":"borrower.opted_out","data":{"borrower_id":"b","channel":"fax"}}]`, "[1].data.channel", "invalid_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := intake.ParseEvents([]byte(tt.body))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tt.wantField || fe.Code != tt.wantCode {
				t.Fatalf("got field %q code %q (%s), want field %q code %q", fe.Field, fe.Code, fe.Message, tt.wantField, tt.wantCode)
			}
		})
	}
}

func TestRepeatedEventIDIsAppliedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	first := borrowerEvent("same-id", "b1")
	second := event("same-id", intake.TypeBorrowerUpserted, map[string]string{"borrower_id": "b1", "name": "Changed"})
	if err := b.intake.Apply(ctx, []intake.Event{first}); err != nil {
		t.Fatal(err)
	}
	if err := b.intake.Apply(ctx, []intake.Event{second}); err != nil {
		t.Fatal(err)
	}
	got, err := b.state.Borrower(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Li Lei" {
		t.Fatalf("name = %q: the repeated id was applied again", got.Name)
	}
}

func TestAgreementHoldsCollectionAndBreakLiftsIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	act := event("e3", intake.TypeAgreementActivated, map[string]any{"borrower_id": "b1", "agreement_id": "a1",
		"kind": "installment", "loan_ids": []string{"l1"}, "installments": []map[string]string{{"due_date": "2026-12-01", "amount": "600.00"}}})
	if err := b.intake.Apply(ctx, []intake.Event{act}); err != nil {
		t.Fatal(err)
	}
	sup, _, err := b.fence.Check(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	coll := domain.Reminder{BorrowerID: "b1", LoanID: "l1", Channel: domain.Voice, Category: domain.Collection}
	if blk, ok := sup.Blocking(coll, "", b.clock.Now()); !ok || blk.Reason() != "agreement:a1" {
		t.Fatalf("collection call not held by the agreement: %+v", blk)
	}
	plan := coll
	plan.Category = domain.AgreementCategory
	if _, ok := sup.Blocking(plan, "", b.clock.Now()); ok {
		t.Fatalf("the agreement's own reminder is held")
	}
	c, _ := b.state.Case(ctx, "l1")
	if c.AgreementID != "a1" {
		t.Fatalf("case agreement = %q, want a1", c.AgreementID)
	}
	brk := event("e4", intake.TypeAgreementBroken, map[string]string{"borrower_id": "b1", "agreement_id": "a1"})
	if err := b.intake.Apply(ctx, []intake.Event{brk}); err != nil {
		t.Fatal(err)
	}
	sup, _, _ = b.fence.Check(ctx, "b1")
	if _, ok := sup.Blocking(coll, "", b.clock.Now()); ok {
		t.Fatalf("collection still held after agreement.broken")
	}
	b.reindex.mu.Lock()
	defer b.reindex.mu.Unlock()
	if len(b.reindex.seen) == 0 || b.reindex.seen[len(b.reindex.seen)-1] != "agr:a1" {
		t.Fatalf("reindex calls %v do not end with the agreement", b.reindex.seen)
	}
}

func TestPaymentClosesCase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	pay := event("e3", intake.TypePaymentReceived, map[string]string{"borrower_id": "b1", "loan_id": "l1", "amount": "1200.00", "remaining": "0.00"})
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1"), pay}); err != nil {
		t.Fatal(err)
	}
	c, err := b.state.Case(ctx, "l1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Open() {
		t.Fatalf("case still open after remaining 0: %+v", c)
	}
	unknown := event("e4", intake.TypePaymentReceived, map[string]string{"borrower_id": "b1", "loan_id": "nope", "amount": "1", "remaining": "0"})
	var fe *intake.FieldError
	if err := b.intake.Apply(ctx, []intake.Event{unknown}); !errors.As(err, &fe) || fe.Field != "data.loan_id" {
		t.Fatalf("payment for unknown loan: err = %v", err)
	}
}

func TestBadNATSEventGoesToDLQWithReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	stop, err := b.intake.ConsumeEvents(ctx, b.nats.JS)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dlq, err := b.nats.JS.OrderedConsumer(ctx, store.DLQStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{store.DLQEventsSubject}})
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"specversion":"1.0","id":"x1","source":"s","type":"loan.updated","data":{"borrower_id":"b","loan_id":"l","due_date":"soon","amount_due":"1","currency":"CNY","status":"current"}}`)
	if _, err := b.nats.JS.Publish(ctx, store.EventsPrefix+"loan.updated", bad); err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(borrowerEvent("x2", "b9"))
	if _, err := b.nats.JS.Publish(ctx, store.EventsPrefix+"borrower.upserted", good); err != nil {
		t.Fatal(err)
	}
	m, err := dlq.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("no DLQ message: %v", err)
	}
	if got := m.Headers().Get(intake.HeaderDLQField); got != "data.due_date" {
		t.Fatalf("DLQ field header = %q, want data.due_date (reason %q)", got, m.Headers().Get(intake.HeaderDLQReason))
	}
	testkit.Eventually(t, 10*time.Second, "good event applied", func() bool {
		_, err := b.state.Borrower(ctx, "b9")
		return err == nil
	})
}

func TestCeasedStopsEveryCollectionMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	ceased := event("e2", intake.TypeBorrowerCeased, map[string]string{"borrower_id": "b1", "reason": "written request"})
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), ceased}); err != nil {
		t.Fatal(err)
	}
	sup, _, err := b.fence.Check(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range domain.Channels {
		r := domain.Reminder{BorrowerID: "b1", LoanID: "l1", Channel: ch, Category: domain.Collection}
		if blk, ok := sup.Blocking(r, "", b.clock.Now()); !ok || blk.Kind != "ceased" {
			t.Errorf("%s collection reminder not stopped by ceased: %+v", ch, blk)
		}
		r.Category = domain.AgreementCategory
		if _, ok := sup.Blocking(r, "", b.clock.Now()); ok {
			t.Errorf("%s agreement reminder stopped by ceased", ch)
		}
	}
}

// TestOptOutAllNowAnswersAfterTheHold: every borrower sharing the number
// is opted out, and the answer comes once the opt-outs are held (two
// leases), as a single opt-out's does.
func TestOptOutAllNowAnswersAfterTheHold(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), borrowerEvent("e2", "b2")}); err != nil {
		t.Fatal(err)
	}
	const number = "+8613800000001"
	start := time.Now()
	opt := domain.OptOut{Channel: domain.SMS, Address: number, Source: "inbound STOP", At: b.clock.Now()}
	if err := b.intake.OptOutAllNow(ctx, []string{"b1", "b2"}, opt); err != nil {
		t.Fatal(err)
	}
	if held := time.Since(start); held < 2*b.fence.Lease() {
		t.Fatalf("opt-outs acknowledged after %v, before two fence leases (%v each)", held, b.fence.Lease())
	}
	r := domain.Reminder{LoanID: "l1", Channel: domain.SMS, Category: domain.Collection}
	for _, id := range []string{"b1", "b2"} {
		sup, _, err := b.fence.Check(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r.BorrowerID = id
		if blk, ok := sup.Blocking(r, number, b.clock.Now()); !ok || blk.Kind != "opt_out" {
			t.Errorf("%s: sms to %s not blocked by the opt-out: %+v %v", id, number, blk, ok)
		}
	}
	if err := b.intake.OptOutAllNow(ctx, nil, opt); err != nil {
		t.Fatalf("no borrowers: %v", err)
	}
}
