package scheduler

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// putRaw writes v straight into a state bucket, as a record stored before
// intake checked it would be, and puts the subject in the now lane.
func (b *bundle) putRaw(t *testing.T, kv jetstream.KeyValue, kind, id string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(b.ctx, store.Token(id), data); err != nil {
		t.Fatal(err)
	}
	if err := b.sched.Reindex(b.ctx, kind, id); err != nil {
		t.Fatal(err)
	}
}

// sweepWithin sweeps, failing the test if the sweep does not end in time.
func (b *bundle) sweepWithin(t *testing.T, d time.Duration) Stats {
	t.Helper()
	var st Stats
	var err error
	within(t, d, "sweep", func() { st, err = b.sched.Sweep(b.ctx) })
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return st
}

// TestSweepSurvivesBadStoredDates: loans and an agreement stored with
// dates no loan is due on (before intake checked dates) neither wedge the
// sweep nor hold up anyone else: they are dropped from the index, and the
// good subjects, in the same batch, are published.
func TestSweepSurvivesBadStoredDates(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	for _, due := range []string{"0001-01-01", "1700-01-01", "9999-12-31"} {
		b.putRaw(t, b.state.Cases, KindLoan, "L"+due, domain.Case{
			LoanID: "L" + due, BorrowerID: "b1", DueDate: due, Status: domain.LoanOverdue, AmountDue: "1.00", Currency: "CNY",
		})
	}
	b.putRaw(t, b.state.Agreements, KindAgreement, "A1", domain.Agreement{
		ID: "A1", BorrowerID: "b1", Kind: "installment", LoanIDs: []string{"L1"}, Status: domain.AgreementActive,
		Installments: []domain.Installment{{DueDate: "0001-01-01", Amount: "1.00"}, {DueDate: "2025-03-12", Amount: "1.00"}},
	})
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", AmountDue: "1.00", Currency: "CNY"})

	st := b.sweepWithin(t, 30*time.Second)
	want := []string{"A1/before/2-0/inapp", "A1/before/2-0/sms", "L1/pre-due/0/inapp", "L1/pre-due/0/sms"}
	got := ids(b.reminders(t))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("reminders = %v, want %v", got, want)
	}
	if st.Failed != 0 || st.Dropped != 3 || st.Published != 4 {
		t.Errorf("stats = %+v, want 3 dropped, 4 published, none failed", st)
	}
	for _, due := range []string{"0001-01-01", "1700-01-01", "9999-12-31"} {
		if e := b.indexEntry(t, KindLoan, "L"+due); e != "" {
			t.Errorf("loan due %s still indexed at %q", due, e)
		}
	}
	// A restart (a second sweep from the same index) does not wedge either.
	b.clock.Advance(24 * time.Hour)
	b.sweepWithin(t, 30*time.Second)
}

// TestSweepContainsPanickingSubject: a subject whose planning panics is
// counted as failed and retried later; the sweep, and the subjects beside
// it, carry on.
func TestSweepContainsPanickingSubject(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	log, hook := logtest.NewNullLogger()
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), func(o *Options) {
		// A nil policy is the simplest record-driven way to make planning
		// dereference nil.
		o.Policies["broken"] = nil
		o.Log = logrus.NewEntry(log)
	})
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L-panic", BorrowerID: "b1", DueDate: "2025-03-13", Policy: "broken"})
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})

	st := b.sweepWithin(t, 30*time.Second)
	if st.Failed != 1 || st.Published != 2 {
		t.Errorf("stats = %+v, want 1 failed, 2 published", st)
	}
	if got, want := ids(b.reminders(t)), []string{"L1/pre-due/0/sms", "L1/pre-due/0/inapp"}; !slices.Equal(got, want) {
		t.Errorf("reminders = %v, want %v", got, want)
	}
	if e := b.indexEntry(t, KindLoan, "L-panic"); e != "now.loan.L-panic" {
		t.Errorf("panicking subject indexed at %q, want the now lane (retried at the next sweep)", e)
	}
	found := false
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel && e.Data["id"] == "L-panic" && strings.Contains(logText(e), "panic") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error log naming L-panic and the panic; got %v", logLines(hook))
	}
}

func logText(e *logrus.Entry) string {
	s := e.Message
	if err, ok := e.Data[logrus.ErrorKey].(error); ok {
		s += " " + err.Error()
	}
	return s
}

func logLines(hook *logtest.Hook) []string {
	var out []string
	for _, e := range hook.AllEntries() {
		out = append(out, e.Level.String()+": "+logText(e))
	}
	return out
}
