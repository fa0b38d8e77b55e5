package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// secondIntake is another forbear instance's intake over its own connection
// and the state st (nil: plain buckets), sharing b's fence and clock.
func secondIntake(t *testing.T, b *bundle, st *store.State) *intake.Intake {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	_, js := b.nats.Connect(t)
	if st == nil {
		var err error
		if st, err = store.OpenState(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := js.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		t.Fatal(err)
	}
	w := suppress.NewWriter(suppress.WriterOptions{State: st, Clock: b.clock, Log: logging.Discard()})
	return intake.New(intake.Options{State: st, EventIDs: ids, Reindex: &reindexLog{}, Fence: b.fence, Suppressions: w,
		Clock: b.clock, Log: logging.Discard(), AgreementPolicy: "plan"})
}

func agreementEvent(id, borrower, agreement string, loans ...string) intake.Event {
	return event(id, intake.TypeAgreementActivated, map[string]any{"borrower_id": borrower, "agreement_id": agreement,
		"kind": "installment", "loan_ids": loans, "installments": []map[string]string{{"due_date": "2026-12-01", "amount": "600.00"}}})
}

func TestConcurrentLoanUpdatesKeepEveryLoan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, 2*time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e0", "b1")}); err != nil {
		t.Fatal(err)
	}
	const loans = 30
	var wg sync.WaitGroup
	want := make([]string, loans)
	for i := range loans {
		want[i] = fmt.Sprintf("l%02d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.intake.Apply(ctx, []intake.Event{loanEvent(fmt.Sprintf("e%d", i+1), "b1", want[i])}); err != nil {
				t.Errorf("loan %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := b.state.Borrower(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.LoanIDs)
	if !slices.Equal(got.LoanIDs, want) {
		t.Fatalf("borrower has %d loans after %d concurrent loan.updated: %v", len(got.LoanIDs), loans, got.LoanIDs)
	}
	if got.Name != "Li Lei" {
		t.Fatalf("name = %q: a loan update overwrote the borrower", got.Name)
	}
}

// overtakenRead is a bucket whose first read is overtaken: right after it,
// another writer changes the key, so the reader holds a stale value when it
// writes. It is the interleaving of two concurrent events, made certain.
type overtakenRead struct {
	jetstream.KeyValue
	once      sync.Once
	meanwhile func()
}

func (o *overtakenRead) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, err := o.KeyValue.Get(ctx, key)
	o.once.Do(o.meanwhile)
	return e, err
}

func TestUpsertThatLosesARaceKeepsBothChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1")}); err != nil {
		t.Fatal(err)
	}
	other := secondIntake(t, b, nil)

	_, js := b.nats.Connect(t)
	st, err := store.OpenState(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := js.KeyValue(ctx, store.BorrowersBucket)
	if err != nil {
		t.Fatal(err)
	}
	st.Borrowers = store.LeaderBacked(&overtakenRead{KeyValue: raw, meanwhile: func() {
		// The other instance links a loan between this read and its write.
		if err := other.Apply(ctx, []intake.Event{loanEvent("e2", "b1", "l1")}); err != nil {
			t.Errorf("concurrent loan.updated: %v", err)
		}
	}}, js)
	in := secondIntake(t, b, st)

	renamed := event("e3", intake.TypeBorrowerUpserted, map[string]string{"borrower_id": "b1", "name": "Han Meimei",
		"locale": "zh-CN", "timezone": "Asia/Shanghai", "phone": "+8613800000002"})
	if err := in.Apply(ctx, []intake.Event{renamed}); err != nil {
		t.Fatal(err)
	}
	got, err := b.state.Borrower(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Han Meimei" || got.Phone != "+8613800000002" {
		t.Fatalf("upsert lost: %+v", got)
	}
	if !slices.Equal(got.LoanIDs, []string{"l1"}) {
		t.Fatalf("loan ids = %v: the upsert overwrote the concurrent loan link", got.LoanIDs)
	}
}

// laggingReplica reads like a KV replica that has not applied any write
// yet: on a cluster, direct gets may be answered by any replica, so a write
// acknowledged through one instance can be missing from the next read on
// another.
type laggingReplica struct{ jetstream.KeyValue }

func (laggingReplica) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	return nil, jetstream.ErrKeyNotFound
}

func TestLaggingReplicaNeverLetsAStubOverwriteABorrower(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	_, js := b.nats.Connect(t)
	st, err := store.OpenState(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []struct {
		name string
		dst  *jetstream.KeyValue
	}{{store.BorrowersBucket, &st.Borrowers}, {store.CasesBucket, &st.Cases}, {store.AgreementsBucket, &st.Agreements}} {
		raw, err := js.KeyValue(ctx, bucket.name)
		if err != nil {
			t.Fatal(err)
		}
		*bucket.dst = store.LeaderBacked(laggingReplica{raw}, js)
	}
	in := secondIntake(t, b, st)

	pay := event("e4", intake.TypePaymentReceived, map[string]string{"borrower_id": "b1", "loan_id": "l1", "amount": "200.00", "remaining": "1000.00"})
	if err := in.Apply(ctx, []intake.Event{loanEvent("e3", "b1", "l2"), pay, agreementEvent("e5", "b1", "a1", "l1")}); err != nil {
		t.Fatalf("events on an instance whose replica lags: %v", err)
	}
	got, err := b.state.Borrower(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Li Lei" || got.Phone == "" {
		t.Fatalf("borrower overwritten by a stub: %+v", got)
	}
	if !slices.Equal(got.LoanIDs, []string{"l1", "l2"}) {
		t.Fatalf("loan ids = %v, want [l1 l2]", got.LoanIDs)
	}
	c, err := b.state.Case(ctx, "l1")
	if err != nil {
		t.Fatal(err)
	}
	if c.AmountDue != "1000.00" || c.AgreementID != "a1" {
		t.Fatalf("case l1 = %+v, want the payment and the agreement applied", c)
	}
}

func TestRepeatedAgreementIsNotAnsweredBeforeTheOriginalsHold(t *testing.T) {
	t.Parallel()
	// A long lease: the original's hold lasts seconds, so an answer inside
	// it is unambiguous.
	lease := time.Second
	b := setupLease(t, lease)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	act := agreementEvent("e3", "b1", "a1", "l1")
	original := make(chan time.Time, 1)
	go func() {
		if err := b.intake.Apply(ctx, []intake.Event{act}); err != nil {
			t.Errorf("original: %v", err)
		}
		original <- time.Now()
	}()
	ids, err := b.nats.JS.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the original applied and marked", func() bool {
		_, err := ids.Get(ctx, store.Token("e3"))
		return err == nil
	})
	select {
	case <-original:
		t.Fatal("the original was answered as soon as it was applied: no hold to test against")
	default:
	}
	// A retry of the same event (the caller timed out, say) while the
	// original is in its hold.
	if err := secondIntake(t, b, nil).Apply(ctx, []intake.Event{act}); err != nil {
		t.Fatal(err)
	}
	repeatAnswered := time.Now()
	originalAnswered := <-original
	if early := originalAnswered.Sub(repeatAnswered); early > lease/4 {
		t.Fatalf("the repeat was answered %v before the original's hold ended", early)
	}
}

func TestBatchFailureAnswersAfterHoldingWhatWasApplied(t *testing.T) {
	t.Parallel()
	lease := 500 * time.Millisecond
	b := setupLease(t, lease)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	unknown := event("e4", intake.TypePaymentReceived, map[string]string{"borrower_id": "b1", "loan_id": "nope", "amount": "1", "remaining": "0"})
	start := time.Now()
	err := b.intake.Apply(ctx, []intake.Event{agreementEvent("e3", "b1", "a1", "l1"), unknown, loanEvent("e5", "b1", "l5")})
	took := time.Since(start)

	var be *intake.BatchError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("err = %v, want a BatchError at index 1", err)
	}
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Code != "not_found" || fe.Field != "[1].data.loan_id" {
		t.Fatalf("err = %v, want not_found on [1].data.loan_id", err)
	}
	if took < 2*lease {
		t.Fatalf("answered after %v: the applied agreement's hold (2 x %v) was skipped", took, lease)
	}
	sup, err := b.state.Suppressions(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sup.Holds) != 1 || sup.Holds[0].AgreementID != "a1" {
		t.Fatalf("holds = %+v, want the agreement applied before the failure", sup.Holds)
	}
	if _, err := b.state.Case(ctx, "l5"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("event after the failure was applied (err %v)", err)
	}
}

func TestNATSEventThatSuppressesIsHeldBeforeItsAck(t *testing.T) {
	t.Parallel()
	lease := 500 * time.Millisecond
	b := setupLease(t, lease)
	ctx := testkit.Context(t, time.Minute)
	if err := b.intake.Apply(ctx, []intake.Event{borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1")}); err != nil {
		t.Fatal(err)
	}
	stop, err := b.intake.ConsumeEvents(ctx, b.nats.JS)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	data, err := json.Marshal(agreementEvent("e3", "b1", "a1", "l1"))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := b.nats.JS.Publish(ctx, store.EventsPrefix+intake.TypeAgreementActivated, data)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the hold written", func() bool {
		sup, err := b.state.Suppressions(ctx, "b1")
		return err == nil && len(sup.Holds) == 1
	})
	written := time.Now()
	cons, err := b.nats.JS.Consumer(ctx, store.EventsStream, intake.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the event acknowledged", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.AckFloor.Stream >= ack.Sequence
	})
	if held := time.Since(written); held < lease {
		t.Fatalf("acknowledged %v after the hold was written, want at least the hold (2 x %v)", held, lease)
	}
}
