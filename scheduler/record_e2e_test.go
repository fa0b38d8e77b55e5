package scheduler

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// record reads a subject's index record.
func (b *bundle) record(t testing.TB, kind, id string) record {
	t.Helper()
	e, err := b.sched.due.Get(b.ctx, subject{kind: kind, id: id}.revKey())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := decodeRecord(e.Value(), b.clock.Now())
	if !ok {
		t.Fatalf("record %q does not decode", e.Value())
	}
	return r
}

// TestMarkersLiveInTheRecord: a sweep's bookkeeping for a subject is its
// record: the entry's move and the markers of what it published, in one
// write, with nothing in the occurrences bucket.
func TestMarkersLiveInTheRecord(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})
	if st := b.sweep(t); st.Published != 2 {
		t.Fatalf("sweep: %+v, want 2 published", st)
	}
	r := b.record(t, KindLoan, "L1")
	marker := markerKey(KindLoan, "L1", "pre-due", "0", "2025-03-13")
	if r.Entry != "t.2025.03.13.16.00.loan.L1" || !slices.Equal(r.done(marker), []domain.Channel{domain.SMS, domain.InApp}) {
		t.Errorf("record = %+v, want the next entry and the pre-due marker", r)
	}
	occ, err := b.nats.JS.Stream(b.ctx, store.KVStream(store.OccurrencesBucket))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := occ.Info(b.ctx); err != nil || info.State.Msgs != 0 {
		t.Errorf("occurrences bucket holds %d messages (%v), want none", info.State.Msgs, err)
	}

	// A Reindex keeps the markers: the same occurrence is not sent again.
	if err := b.sched.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	if r := b.record(t, KindLoan, "L1"); r.Entry != "now.loan.L1" || r.done(marker) == nil {
		t.Errorf("after Reindex: %+v", r)
	}
	if st := b.sweep(t); st.Published != 0 || st.Skipped != 2 {
		t.Errorf("sweep after Reindex: %+v, want 0 published, 2 skipped", st)
	}

	// Closed: the entry goes, the record stays for its markers only.
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanPaid})
	if st := b.sweep(t); st.Dropped != 1 {
		t.Errorf("sweep of the closed loan: %+v, want 1 dropped", st)
	}
	if r := b.record(t, KindLoan, "L1"); r.Entry != "" || r.done(marker) == nil {
		t.Errorf("after the drop: %+v, want no entry and the marker", r)
	}
}

// TestMarkersOfEarlierVersionsStillCount: a subject indexed before the
// markers moved into the index (a plain entry key, its markers in the
// occurrences bucket) is not sent again after an upgrade.
func TestMarkersOfEarlierVersionsStillCount(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	c := domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanCurrent}
	if err := b.state.PutCase(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	sub := subject{kind: KindLoan, id: "L1"}
	old, _ := json.Marshal(markerValue{Channels: []domain.Channel{domain.SMS, domain.InApp}, At: b.clock.Now().Add(-time.Hour)})
	for key, val := range map[string][]byte{sub.revKey(): []byte(sub.nowKey()), sub.nowKey(): nil} {
		if _, err := b.sched.due.Put(b.ctx, key, val); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.sched.occ.Put(b.ctx, markerKey(KindLoan, "L1", "pre-due", "0", "2025-03-13"), old); err != nil {
		t.Fatal(err)
	}
	if st := b.sweep(t); st.Due != 1 || st.Published != 0 || st.Skipped != 2 {
		t.Fatalf("sweep: %+v, want 1 due, 0 published, 2 skipped", st)
	}
	// Converted: the record carries the markers and still reads the old
	// bucket until its markers would have expired.
	r := b.record(t, KindLoan, "L1")
	if !r.readsOldMarkers(b.clock.Now()) || r.done(markerKey(KindLoan, "L1", "pre-due", "0", "2025-03-13")) == nil {
		t.Errorf("converted record = %+v", r)
	}
}

// TestReindexDuringSweepsLosesNoSubject: Reindexes racing now-lane sweeps
// never leave a subject out of the index. Before the record was written
// ahead of the entry, a sweep could list a Reindex's new entry, read the
// record still naming the old one, and delete the new entry as stale.
func TestReindexDuringSweepsLosesNoSubject(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	const loans = 60
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.sched.sweep(b.ctx, true); err != nil {
				t.Errorf("now-lane sweep: %v", err)
				return
			}
		}
	})
	for i := range loans {
		b.putCase(t, domain.Case{LoanID: "L" + string(rune('A'+i/26)) + string(rune('a'+i%26)), BorrowerID: "b1", DueDate: "2025-03-13"})
	}
	close(stop)
	wg.Wait()
	b.sweep(t)
	if n := len(b.reminders(t)); n != 2*loans {
		t.Errorf("%d reminders published, want %d (two per loan)", n, 2*loans)
	}
}

// TestReindexAfterTheRecordWasDeleted: a subject dropped with nothing to
// remember loses its record (a delete marker stays in its place); a later
// Reindex writes a new one and the subject is swept again.
func TestReindexAfterTheRecordWasDeleted(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanPaid})
	if st := b.sweep(t); st.Dropped != 1 {
		t.Fatalf("sweep of the paid loan: %+v, want 1 dropped", st)
	}
	if _, err := b.sched.due.Get(b.ctx, subject{kind: KindLoan, id: "L1"}.revKey()); !store.IsNotFound(err) {
		t.Fatalf("record after the drop: %v, want it deleted", err)
	}
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})
	if st := b.sweep(t); st.Published != 2 {
		t.Errorf("sweep of the reopened loan: %+v, want 2 published", st)
	}
}
