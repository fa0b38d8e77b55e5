package scheduler

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

func TestSweepPreDueOnce(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", AmountDue: "1200.00", Currency: "CNY"})

	st := b.sweep(t)
	if st.Due != 1 || st.Published != 2 {
		t.Fatalf("first sweep: %+v, want 1 due, 2 published", st)
	}
	got := b.reminders(t)
	if want := []string{"L1/pre-due/0/sms", "L1/pre-due/0/inapp"}; !slices.Equal(ids(got), want) {
		t.Fatalf("reminders = %v, want %v", ids(got), want)
	}
	r := got[0]
	if r.Occurrence != "L1/pre-due/0" || r.LoanID != "L1" || r.BorrowerID != "b1" || r.Category != domain.Collection ||
		r.Policy != "standard" || r.Template != "pre_due" || r.K != 0 || !r.DueAt.Equal(local(sh, 2025, 3, 10, 0, 0)) {
		t.Errorf("reminder = %+v", r)
	}

	// Again, even with a Reindex forcing the loan due: nothing new.
	if err := b.sched.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	st = b.sweep(t)
	if st.Due != 1 || st.Published != 0 || st.Skipped != 2 {
		t.Errorf("second sweep: %+v, want 1 due, 0 published, 2 skipped", st)
	}
	if n := len(b.reminders(t)); n != 2 {
		t.Errorf("%d reminders after two sweeps, want 2", n)
	}
	// The loan now waits for its first overdue reminder, 03-14 00:00 local.
	if got, want := b.indexEntry(t, KindLoan, "L1"), "t.2025.03.13.16.00.loan.L1"; got != want {
		t.Errorf("index entry = %q, want %q", got, want)
	}
	// A third sweep lists nothing: the entry is in the future.
	if st = b.sweep(t); st.Listed != 0 || st.Published != 0 {
		t.Errorf("third sweep: %+v", st)
	}

	ds, err := b.audit.List(b.ctx, "b1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Status != domain.Queued || ds[1].Status != domain.Queued {
		t.Errorf("deliveries = %+v, want 2 queued", ds)
	}
}

func TestSweepLatestOnlyAfterDowntime(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 2, 10, 0))
	b.putBorrower(t, "b1", "")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-01", Status: domain.LoanOverdue})

	st := b.sweep(t)
	if got := ids(b.reminders(t)); !slices.Equal(got, []string{"L1/overdue/0/sms"}) || st.Published != 1 {
		t.Fatalf("day 1: %+v, reminders %v", st, got)
	}

	// Ten days of downtime: no sweep until 03-12 09:00. The entry (due
	// 03-05) is listed from the cursor, and only the latest overdue
	// occurrence (k=3, 03-11) goes out, with the call due today.
	b.clock.Set(local(sh, 2025, 3, 12, 9, 0))
	st = b.sweep(t)
	all := b.reminders(t)
	var overdue []string
	for _, r := range all {
		if r.Step == "overdue" {
			overdue = append(overdue, r.ID)
		}
	}
	if want := []string{"L1/overdue/0/sms", "L1/overdue/3/sms"}; !slices.Equal(overdue, want) {
		t.Errorf("overdue reminders = %v, want %v", overdue, want)
	}
	if want := []string{"L1/overdue/0/sms", "L1/overdue/3/sms", "L1/call/2/voice"}; !slices.Equal(ids(all), want) {
		t.Errorf("reminders = %v, want %v", ids(all), want)
	}
	if st.Due != 1 || st.Published != 2 {
		t.Errorf("after downtime: %+v", st)
	}
}

func TestSweepClosedCase(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanPaid})
	if err := b.sched.Reindex(b.ctx, KindLoan, "gone"); err != nil {
		t.Fatal(err)
	}
	st := b.sweep(t)
	if st.Published != 0 || st.Dropped != 2 || st.Due != 2 {
		t.Errorf("stats = %+v, want nothing published, 2 dropped", st)
	}
	if n := len(b.reminders(t)); n != 0 {
		t.Errorf("%d reminders for a paid case", n)
	}
	if e := b.indexEntry(t, KindLoan, "L1"); e != "" {
		t.Errorf("paid case still indexed at %q", e)
	}
	if st := b.sweep(t); st.Listed != 0 {
		t.Errorf("dropped entries listed again: %+v", st)
	}
}

func TestSweepAgreementHold(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	now := local(sh, 2025, 3, 12, 9, 0)
	b := setup(t, now)
	b.putBorrower(t, "b1", "Asia/Shanghai")
	ag := domain.Agreement{
		ID: "A1", BorrowerID: "b1", Kind: "installment", LoanIDs: []string{"L1"}, Status: domain.AgreementActive,
		Installments: []domain.Installment{{DueDate: "2025-03-14", Amount: "400.00"}, {DueDate: "2025-04-14", Amount: "400.00"}},
	}
	if err := b.state.PutAgreement(b.ctx, ag); err != nil {
		t.Fatal(err)
	}
	if _, err := b.state.UpdateSuppressions(b.ctx, "b1", func(s *domain.Suppressions) error {
		s.Holds = append(s.Holds, domain.Hold{AgreementID: "A1", Kind: "installment", LoanIDs: []string{"L1", "L2"}, Since: now})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Overdue since 03-01: overdue (k=3) and call (k=2) are due today.
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-01", Status: domain.LoanOverdue, AgreementID: "A1"})
	// A second loan held only through the hold in the suppressions.
	b.putCase(t, domain.Case{LoanID: "L2", BorrowerID: "b1", DueDate: "2025-03-01", Status: domain.LoanOverdue})
	if err := b.sched.Reindex(b.ctx, KindAgreement, "A1"); err != nil {
		t.Fatal(err)
	}

	st := b.sweep(t)
	got := b.reminders(t)
	if want := []string{"A1/before/1-0/sms", "A1/before/1-0/inapp"}; !slices.Equal(ids(got), want) {
		t.Fatalf("reminders = %v, want %v", ids(got), want)
	}
	r := got[0]
	if r.LoanID != "L1" || r.AgreementID != "A1" || r.Installment != 1 || r.Category != domain.AgreementCategory ||
		r.Policy != "plan" || r.Template != "installment_due" || r.Occurrence != "A1/before/1-0" {
		t.Errorf("reminder = %+v", r)
	}
	// L1: overdue+call withheld by case.AgreementID; L2: the same by the
	// hold in its suppressions.
	if st.Published != 2 || st.Skipped != 4 {
		t.Errorf("stats = %+v, want 2 published, 4 skipped", st)
	}
	// The agreement waits for the missed-instalment step on 03-15.
	if got, want := b.indexEntry(t, KindAgreement, "A1"), "t.2025.03.14.16.00.agr.A1"; got != want {
		t.Errorf("agreement entry = %q, want %q", got, want)
	}

	// The agreement breaks: the loan resumes at its current day past due.
	ag.Status = domain.AgreementBroken
	if err := b.state.PutAgreement(b.ctx, ag); err != nil {
		t.Fatal(err)
	}
	if _, err := b.state.UpdateSuppressions(b.ctx, "b1", func(s *domain.Suppressions) error {
		s.Holds = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-01", Status: domain.LoanOverdue})
	if err := b.sched.Reindex(b.ctx, KindAgreement, "A1"); err != nil {
		t.Fatal(err)
	}
	st = b.sweep(t)
	got = b.reminders(t)[2:]
	if want := []string{"L1/overdue/3/sms", "L1/call/2/voice"}; !slices.Equal(ids(got), want) {
		t.Errorf("after the break: %v, want %v", ids(got), want)
	}
	if e := b.indexEntry(t, KindAgreement, "A1"); e != "" {
		t.Errorf("broken agreement still indexed at %q", e)
	}
}

func TestSweepMuteDefersChannel(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	b := setup(t, now)
	until := now.Add(2 * time.Hour)
	if _, err := b.state.UpdateSuppressions(b.ctx, "b1", func(s *domain.Suppressions) error {
		s.Mutes = append(s.Mutes, domain.Mute{ID: "m1", Channels: []domain.Channel{domain.SMS}, Until: &until, Reason: "dispute"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})

	st := b.sweep(t)
	if got := ids(b.reminders(t)); !slices.Equal(got, []string{"L1/pre-due/0/inapp"}) || st.Skipped != 1 {
		t.Fatalf("while muted: %v, %+v", got, st)
	}
	// Due again when the mute ends, not at the next step.
	if got, want := b.indexEntry(t, KindLoan, "L1"), "t.2025.03.10.03.00.loan.L1"; got != want {
		t.Errorf("index entry = %q, want %q", got, want)
	}
	b.clock.Set(until.Add(time.Minute))
	st = b.sweep(t)
	if got := ids(b.reminders(t)); !slices.Equal(got, []string{"L1/pre-due/0/inapp", "L1/pre-due/0/sms"}) {
		t.Errorf("after the mute: %v (%+v)", got, st)
	}
	if st.Published != 1 || st.Skipped != 1 {
		t.Errorf("after the mute: %+v, want 1 published, 1 skipped", st)
	}
}

func TestSweepNothingDueListsNothing(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	b := setup(t, now)
	indexFuture(t, b.ctx, b.nats.JS, 10000, now.Add(time.Hour), "F")
	// The first sweep ever lists from the epoch to now.
	st := b.sweep(t)
	if st.Listed != 0 || st.Due != 0 || st.Published != 0 || st.Lists > 2 {
		t.Errorf("first sweep: %+v, want nothing listed", st)
	}
	b.clock.Advance(time.Minute)
	st = b.sweep(t)
	if st.Listed != 0 || st.Due != 0 || st.Published != 0 || st.Lists != 1 {
		t.Errorf("next sweep: %+v, want nothing listed in one call", st)
	}
	// An hour later the first two minutes of entries are due (7 subjects
	// a minute), and only those are listed.
	b.clock.Advance(time.Hour)
	st = b.sweep(t)
	if st.Listed != 14 || st.Dropped != 14 {
		t.Errorf("an hour later: %+v, want 14 listed and dropped (no cases)", st)
	}
}

func TestSweepStaleEntries(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	b := setup(t, now)
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-04-13"})
	// A leftover time entry for L1 that the reverse key does not point at,
	// and a malformed key.
	stale := subject{kind: KindLoan, id: "L1"}.timeKey(now.Add(-time.Hour))
	if _, err := b.sched.due.Put(b.ctx, stale, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sched.due.Put(b.ctx, "now.bogus", nil); err != nil {
		t.Fatal(err)
	}
	st := b.sweep(t)
	if st.Listed != 3 || st.Due != 1 {
		t.Errorf("stats = %+v, want 3 listed, 1 due", st)
	}
	for _, k := range []string{stale, "now.bogus", "now.loan.L1"} {
		if _, err := b.sched.due.Get(b.ctx, k); err == nil {
			t.Errorf("%s still in the index", k)
		}
	}
	if e := b.indexEntry(t, KindLoan, "L1"); !strings.HasPrefix(e, "t.2025.04.09.16.00.") {
		t.Errorf("L1 entry = %q, want its pre-due time", e)
	}
}

func TestReindexValidates(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC))
	if err := b.sched.Reindex(b.ctx, "cat", "x"); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := b.sched.Reindex(b.ctx, KindLoan, ""); err == nil {
		t.Error("empty id accepted")
	}
	// Ids with any characters are tokenised.
	if err := b.sched.Reindex(b.ctx, KindLoan, "loan 1/ä.x"); err != nil {
		t.Fatal(err)
	}
	if e := b.indexEntry(t, KindLoan, "loan 1/ä.x"); !strings.HasPrefix(e, "now.loan.=") {
		t.Errorf("entry = %q", e)
	}
}

func TestBorrowerTimezone(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	// 2025-03-10 00:30 in New York is 13:30 in Shanghai: the pre-due step
	// of a loan due 03-13 has fired for a New York borrower only.
	now := local(ny, 2025, 3, 10, 0, 30)
	b := setup(t, now)
	b.putBorrower(t, "ny", "America/New_York")
	b.putBorrower(t, "bad", "Mars/Olympus")
	b.putCase(t, domain.Case{LoanID: "LNY", BorrowerID: "ny", DueDate: "2025-03-13"})
	b.putCase(t, domain.Case{LoanID: "LSH", BorrowerID: "nobody", DueDate: "2025-03-14"})
	b.putCase(t, domain.Case{LoanID: "LBAD", BorrowerID: "bad", DueDate: "2025-03-14"})
	b.sweep(t)
	got := b.reminders(t)
	if !slices.Equal(ids(got), []string{"LNY/pre-due/0/sms", "LNY/pre-due/0/inapp"}) {
		t.Fatalf("reminders = %v", ids(got))
	}
	if !got[0].DueAt.Equal(local(ny, 2025, 3, 10, 0, 0)) {
		t.Errorf("due at %s", got[0].DueAt)
	}
	// Default zone (Shanghai) for the others: pre-due at 03-11 00:00 +08.
	if got, want := b.indexEntry(t, KindLoan, "LSH"), "t.2025.03.10.16.00.loan.LSH"; got != want {
		t.Errorf("LSH entry = %q, want %q", got, want)
	}
	if got, want := b.indexEntry(t, KindLoan, "LBAD"), "t.2025.03.10.16.00.loan.LBAD"; got != want {
		t.Errorf("LBAD entry = %q, want %q", got, want)
	}
}

// TestSweepWithoutMultiGet runs a sweep through a JetStream client with an
// API prefix of its own, where the scheduler once read keys one at a time
// because its multi-get could not reach the stream: the batch read now
// serves it too.
func TestSweepWithoutMultiGet(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	prefixed, err := jetstream.NewWithAPIPrefix(b.nats.Conn, "$JS.API")
	if err != nil {
		t.Fatal(err)
	}
	b.sched = b.newScheduler(t, prefixed, "a")
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})
	b.putCase(t, domain.Case{LoanID: "L2", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanWrittenOff})
	st := b.sweep(t)
	if st.Due != 2 || st.Published != 2 || st.Dropped != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if err := b.sched.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	if st := b.sweep(t); st.Published != 0 || st.Skipped != 2 {
		t.Errorf("second sweep: %+v", st)
	}
}

func TestGetMany(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC))
	kv := b.sched.due
	for _, k := range []string{"a", "b", "c"} {
		if _, err := kv.Put(b.ctx, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(b.ctx, "c"); err != nil {
		t.Fatal(err)
	}
	got, err := b.sched.getMany(b.ctx, kv, []string{"a", "b", "c", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["a"].Value) != "va" || string(got["b"].Value) != "vb" || got["a"].Revision == 0 {
		t.Errorf("getMany = %+v", got)
	}
	none, err := b.sched.getMany(b.ctx, kv, []string{"missing"})
	if err != nil || len(none) != 0 {
		t.Errorf("getMany(missing) = %+v, %v", none, err)
	}
}

// TestSweepCachedSuppressions checks how a sweep uses Options.Suppressions:
// a cached view that withholds nothing is trusted (no leader read), while
// anything it would withhold, or a borrower it has no view of, is decided
// by the stream leader's copy.
func TestSweepCachedSuppressions(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	smsMute := domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Channels: []domain.Channel{domain.SMS}, Reason: "dispute"}}}
	tests := []struct {
		name   string
		leader domain.Suppressions // what the suppressions bucket holds
		cached domain.Suppressions // what the cached view says
		known  bool                // whether the cached view knows the borrower
		want   []string
	}{
		{
			// The view is believed when it withholds nothing; the send-time
			// fence, not the sweep, stops a reminder a fresh mute covers.
			name: "clear view trusted", leader: smsMute, known: true,
			want: []string{"L1/pre-due/0/sms", "L1/pre-due/0/inapp"},
		},
		{
			// A view that still shows a lifted mute must not lose the
			// occurrence: the leader's copy decides.
			name: "stale mute confirmed with the leader", cached: smsMute, known: true,
			want: []string{"L1/pre-due/0/sms", "L1/pre-due/0/inapp"},
		},
		{
			name: "mute confirmed by the leader", leader: smsMute, cached: smsMute, known: true,
			want: []string{"L1/pre-due/0/inapp"},
		},
		{
			name: "unknown borrower read from the leader", leader: smsMute, cached: smsMute,
			want: []string{"L1/pre-due/0/inapp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked []string
			var mu sync.Mutex
			b := setup(t, now, func(o *Options) {
				o.Suppressions = func(id string) (domain.Suppressions, bool) {
					mu.Lock()
					defer mu.Unlock()
					asked = append(asked, id)
					sup := tt.cached
					sup.BorrowerID = id
					return sup, tt.known
				}
			})
			if len(tt.leader.Mutes) > 0 {
				if _, err := b.state.UpdateSuppressions(b.ctx, "b1", func(s *domain.Suppressions) error {
					s.Mutes = tt.leader.Mutes
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})
			st := b.sweep(t)
			if got := ids(b.reminders(t)); !slices.Equal(got, tt.want) {
				t.Errorf("reminders = %v, want %v (%+v)", got, tt.want, st)
			}
			if st.Published != len(tt.want) || st.Skipped != 2-len(tt.want) {
				t.Errorf("stats = %+v, want %d published", st, len(tt.want))
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(asked, []string{"b1"}) {
				t.Errorf("cached view asked for %v, want [b1]", asked)
			}
		})
	}
}

// A reminder whose publish fails is not queued: no "queued" line may
// claim it (a later sweep can replace it by a newer occurrence, and a
// "queued" line would then stand for a reminder that never was).
func TestSweepRecordsQueuedOnlyWhenPublished(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", AmountDue: "1200.00", Currency: "CNY"})
	if err := b.nats.JS.DeleteStream(b.ctx, store.RemindersStream); err != nil {
		t.Fatal(err)
	}
	st, err := b.sched.Sweep(b.ctx)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if st.Published != 0 || st.Failed != 1 {
		t.Errorf("sweep without a reminders stream: %+v, want 0 published, 1 failed", st)
	}
	ds, err := b.audit.List(b.ctx, "b1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("deliveries = %+v, want none: nothing was queued", ds)
	}
}
