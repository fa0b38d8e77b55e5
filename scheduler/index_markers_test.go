package scheduler

import (
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// TestIndexLeavesNoDeleteMarkers: moving a subject through the index
// (now lane, time keys, back to the now lane) leaves no message behind for
// an entry it left. A KV delete would: its marker is the last message of
// a subject no one writes again (every time key is one minute's), kept
// forever, one per move of every loan.
func TestIndexLeavesNoDeleteMarkers(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", AmountDue: "1200.00", Currency: "CNY"})

	b.sweep(t) // now lane -> the first overdue reminder's minute
	b.clock.Set(local(sh, 2025, 3, 14, 0, 1))
	b.sweep(t) // that minute -> the next step's
	if err := b.sched.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	b.sweep(t) // a time key -> the now lane -> a time key again

	keys, err := b.sched.due.ListKeys(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for k := range keys.Keys() {
		live = append(live, k)
	}
	s, err := b.nats.JS.Stream(b.ctx, store.KVStream(store.DueBucket))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The subject's record, its one entry, the cursor.
	if len(live) != 3 || info.State.Msgs != uint64(len(live)) {
		t.Errorf("due bucket holds %d messages for the keys %v, want one each and no markers", info.State.Msgs, live)
	}
}
