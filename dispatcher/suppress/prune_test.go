package suppress

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestPruneDropsSpentRecordsFromTheCache: the fence's copy of the bucket
// lets go of records that decide nothing (an ended mute, a change noted
// longer ago than kept), and keeps every one that still stops a reminder
// or outdates a snapshot. Without it the copy grows with every borrower
// whose profile or case ever changed.
func TestPruneDropsSpentRecordsFromTheCache(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	f := NewFence(st, FenceOptions{Instance: "prune", Lease: time.Second, Log: logging.Discard(), Clock: clk})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ended := clk.Now().Add(-time.Minute)
	for borrower, change := range map[string]func(*domain.Suppressions){
		"noted":  func(s *domain.Suppressions) { s.NoteChange(7, 0, clk.Now()) },
		"muted":  func(s *domain.Suppressions) { s.Mutes = []domain.Mute{{ID: "m", Reason: "test"}} },
		"ended":  func(s *domain.Suppressions) { s.Mutes = []domain.Mute{{ID: "m", Reason: "test", Until: &ended}} },
		"holder": func(s *domain.Suppressions) { s.Holds = []domain.Hold{{AgreementID: "a"}} },
	} {
		if _, err := st.UpdateSuppressions(ctx, borrower, func(s *domain.Suppressions) error { change(s); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// A fence round makes the cache hold every write acknowledged before it.
	if _, _, err := f.Check(ctx, "noted"); err != nil {
		t.Fatal(err)
	}
	cached := func() []string {
		f.mu.Lock()
		defer f.mu.Unlock()
		var keys []string
		for _, b := range []string{"noted", "muted", "ended", "holder"} {
			if _, ok := f.cache[store.Token(b)]; ok {
				keys = append(keys, b)
			}
		}
		return keys
	}
	if got := cached(); len(got) != 4 {
		t.Fatalf("cache holds %v before pruning, want all four", got)
	}

	f.prune(clk.Now())
	if got := cached(); len(got) != 3 || got[0] != "noted" || got[1] != "muted" || got[2] != "holder" {
		t.Fatalf("after pruning now the cache holds %v, want [noted muted holder]", got)
	}
	if f.Cached("noted").Changed == nil {
		t.Error("a change noted just now was dropped")
	}

	clk.Advance(domain.ChangesKeep + time.Second)
	f.prune(clk.Now())
	if got := cached(); len(got) != 2 || got[0] != "muted" || got[1] != "holder" {
		t.Fatalf("after the notes' keep the cache holds %v, want [muted holder]", got)
	}
	if len(f.Cached("muted").Mutes) != 1 || len(f.Cached("holder").Holds) != 1 {
		t.Error("a record that still suppresses was dropped")
	}
}

// TestFenceForgetsAnExpiredRecord: a record that expires (the server
// removes it, leaving a marker) leaves the fence's copy too, and the fence
// keeps answering with the marker as the bucket's newest message.
func TestFenceForgetsAnExpiredRecord(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFence(st, FenceOptions{Instance: "expiry", Lease: time.Second, Log: logging.Discard()})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	bk := store.NewBucket[domain.Suppressions](n.JS, st.SuppressionKV)
	if _, err := bk.UpdateExpiring(ctx, store.Token("b1"), func(s *domain.Suppressions) (bool, error) {
		s.BorrowerID = "b1"
		s.NoteChange(3, 0, time.Now())
		return true, nil
	}, func(domain.Suppressions) time.Duration { return time.Second }); err != nil {
		t.Fatal(err)
	}
	sup, _, err := f.Check(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if sup.Changed == nil {
		t.Fatal("the fence's view lacks the record before it expired")
	}
	testkit.Eventually(t, 30*time.Second, "the expired record to leave the fence's copy", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.cache[store.Token("b1")]
		return !ok
	})
	if _, _, err := f.Check(ctx, "b1"); err != nil {
		t.Fatalf("a check after the expiry: %v", err)
	}
}
