package suppress

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

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
