package dispatcher

import (
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/store"
	"github.com/forbear/forbear/internal/testkit"
)

// TestStalledWatcherFallsBackToTheLeaderRead runs a fence whose watcher
// never applies anything (only the round loop runs), as a watcher stalled
// after a server restart would: every round gives up waiting for its
// marker. The leader read must then clear a send for a borrower without
// suppressions (a fence still valid when Check returns) and still block a
// muted borrower.
func TestStalledWatcherFallsBackToTheLeaderRead(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	// A generous lease: the leader read must fit in it even on a busy
	// machine; the round itself waits the whole lease before falling back.
	const lease = 2 * time.Second
	f := NewFence(st, FenceOptions{Instance: "stalled", Lease: lease, Log: logging.Discard()})
	go f.roundLoop(ctx) // no watchLoop: the cache never learns anything

	if _, err := st.UpdateSuppressions(ctx, "muted", func(s *domain.Suppressions) error {
		s.Mutes = append(s.Mutes, domain.Mute{ID: "m1", Reason: "complaint"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := domain.Reminder{BorrowerID: "free", LoanID: "l1", Channel: domain.SMS, Category: domain.Collection}

	sup, until, err := f.Check(ctx, "free")
	if err != nil {
		t.Fatal(err)
	}
	if blk, blocked := sup.Blocking(r, "+15550000001", time.Now()); blocked {
		t.Fatalf("borrower without suppressions blocked by %+v", blk)
	}
	if !until.After(time.Now()) {
		t.Fatalf("fallback fence expired %v before the send could start: the fallback never lets a send through", time.Since(until))
	}
	if err := channels.BeginCall(channels.WithFence(ctx, until)); err != nil {
		t.Fatalf("BeginCall after the fallback = %v, want the call allowed", err)
	}
	if until.After(time.Now().Add(lease)) {
		t.Fatalf("fallback fence valid until %v, more than one lease from now", until)
	}

	r.BorrowerID = "muted"
	sup, _, err = f.Check(ctx, "muted")
	if err != nil {
		t.Fatal(err)
	}
	if blk, blocked := sup.Blocking(r, "+15550000002", time.Now()); !blocked || blk.ID != "m1" {
		t.Fatalf("muted borrower not blocked by the fallback read: %+v %v", blk, blocked)
	}
	if len(f.Cached("muted").Mutes) != 0 {
		t.Fatal("the cache learnt the mute: the watcher was not stalled, so the fallback was not tested")
	}
}
