package suppress

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
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
	f.startRounds(ctx) // no watchLoop: the cache never learns anything

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

// fenceWithoutWatcher returns a fence whose rounds run but whose watcher is
// not started: the test delivers entries to it by hand (apply), standing in
// for a watcher that lags, or starts the real one with startWatcher.
func fenceWithoutWatcher(t *testing.T, lease time.Duration, observe func(time.Duration)) (*Fence, *store.State, context.Context) {
	t.Helper()
	return fenceOn(t, testkit.StartNATS(t), lease, observe)
}

func fenceOn(t *testing.T, n *testkit.NATS, lease time.Duration, observe func(time.Duration)) (*Fence, *store.State, context.Context) {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFence(st, FenceOptions{Instance: "hand", Lease: lease, Log: logging.Discard(), Observe: observe})
	f.startRounds(ctx)
	return f, st, ctx
}

// startWatcher starts the fence's real watcher, late.
func startWatcher(t *testing.T, ctx context.Context, f *Fence) {
	t.Helper()
	w, err := f.watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go f.watchLoop(ctx, w)
}

func addMute(t *testing.T, ctx context.Context, st *store.State, borrower, id string) {
	t.Helper()
	if err := mute(ctx, st, borrower, id); err != nil {
		t.Fatal(err)
	}
}

func mute(ctx context.Context, st *store.State, borrower, id string) error {
	_, err := st.UpdateSuppressions(ctx, borrower, func(s *domain.Suppressions) error {
		s.Mutes = append(s.Mutes, domain.Mute{ID: id, Reason: "test"})
		return nil
	})
	return err
}

// deliver hands the key's current entry to the fence, as its watcher would.
func deliver(ctx context.Context, f *Fence, key string) error {
	e, err := f.kv.Get(ctx, key)
	if err != nil {
		return err
	}
	f.apply(e)
	return nil
}

// TestRoundWaitsForAVersionTheWatcherPassedOver covers the bucket keeping
// one revision per key. Borrower k is muted (revision s), borrower j written
// after (the newest revision, which the round's question returns), and
// while the round waits, k is changed again (a second mute), which removes
// revision s from the stream. A watcher that had not reached s yet passes
// over it and delivers j: it has applied the round's target, yet its copy
// of k predates the first mute, acknowledged before the Check. The round
// must not end there; it must end once k's newer revision is in.
func TestRoundWaitsForAVersionTheWatcherPassedOver(t *testing.T) {
	t.Parallel()
	f, st, ctx := fenceWithoutWatcher(t, time.Minute, nil)
	addMute(t, ctx, st, "k", "m1")
	addMute(t, ctx, st, "j", "j1")

	asked := make(chan uint64, 2)
	questions := 0 // only the round's goroutine asks
	f.ask = func(ctx context.Context) (uint64, error) {
		p, err := f.head(ctx)
		if questions++; questions == 1 && err == nil {
			// k changes again, which removes revision s, and the watcher
			// passes over s to deliver j.
			err = errors.Join(mute(ctx, st, "k", "m2"), deliver(ctx, f, store.Token("j")))
		}
		asked <- p
		return p, err
	}
	type answer struct {
		sup domain.Suppressions
		err error
	}
	done := make(chan answer, 1)
	go func() {
		sup, _, err := f.Check(ctx, "k")
		done <- answer{sup, err}
	}()

	var first uint64
	select {
	case first = <-asked:
	case a := <-done:
		t.Fatalf("Check answered before its round asked the leader: %+v", a)
	}
	select {
	case second := <-asked:
		// The round saw the passed-over revision and asked again: the
		// answer lies at or beyond k's newer revision. Deliver it.
		if second <= first {
			t.Fatalf("second question answered %d, not beyond the first %d", second, first)
		}
		if err := deliver(ctx, f, store.Token("k")); err != nil {
			t.Fatal(err)
		}
	case a := <-done:
		if a.err != nil {
			t.Fatal(a.err)
		}
		t.Fatalf("round ended on a copy missing a mute acknowledged before the Check: %+v", a.sup)
	}
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if len(a.sup.Mutes) != 2 {
		t.Fatalf("Check's view has mutes %+v, want m1 and m2", a.sup.Mutes)
	}
}

// inflight is how many rounds run now.
func (f *Fence) inflightNow() int {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	return f.inflight
}

// TestCheckDuringARoundStartsItsOwnRound: a round only proves freshness
// for Checks that arrived before it started, so a Check arriving while one
// is in flight used to wait for the rest of that round and then a whole
// round of its own. It must start its own round at once instead (below the
// cap), and each Check be served by exactly one round. The first round
// cannot end until the test starts the watcher, so the order is certain.
func TestCheckDuringARoundStartsItsOwnRound(t *testing.T) {
	t.Parallel()
	var rounds atomic.Int64
	f, st, ctx := fenceWithoutWatcher(t, time.Minute, func(time.Duration) { rounds.Add(1) })
	addMute(t, ctx, st, "b0", "m0") // an entry for the rounds' question to name

	errs := make(chan error, 2)
	check := func(borrower string) {
		go func() {
			_, _, err := f.Check(ctx, borrower)
			errs <- err
		}()
	}
	check("first")
	testkit.Eventually(t, 10*time.Second, "the first Check's round in flight", func() bool { return f.inflightNow() == 1 })
	check("second")
	testkit.Eventually(t, 10*time.Second, "the second Check's own round in flight beside the first",
		func() bool { return f.inflightNow() == 2 })
	if n := rounds.Load(); n != 0 {
		t.Fatalf("%d rounds ended before the watcher ran", n)
	}

	startWatcher(t, ctx, f)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := rounds.Load(); n != 2 {
		t.Fatalf("%d rounds served two Checks, want one each", n)
	}
}

// TestChecksShareRoundsWithinTheCap: with the cap of rounds in flight
// reached, every further Check waits in the one next round, which starts
// when a slot frees; no more than the cap ever run.
func TestChecksShareRoundsWithinTheCap(t *testing.T) {
	t.Parallel()
	var rounds atomic.Int64
	f, st, ctx := fenceWithoutWatcher(t, time.Minute, func(time.Duration) { rounds.Add(1) })
	addMute(t, ctx, st, "b0", "m0")

	const checks = 50
	joined := make([]*round, 0, checks)
	for range checks {
		r, err := f.join()
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, r)
		if n := f.inflightNow(); n > roundsInFlight {
			t.Fatalf("%d rounds in flight, cap %d", n, roundsInFlight)
		}
	}
	waiting := map[*round]int{}
	for _, r := range joined {
		waiting[r]++
	}
	if len(waiting) != roundsInFlight+1 || waiting[joined[checks-1]] != checks-roundsInFlight {
		t.Fatalf("%d Checks spread over %d rounds (%d in the last), want %d rounds in flight and the other %d Checks in one",
			checks, len(waiting), waiting[joined[checks-1]], roundsInFlight, checks-roundsInFlight)
	}

	startWatcher(t, ctx, f)
	for _, r := range joined {
		select {
		case <-r.done:
		case <-ctx.Done():
			t.Fatal("rounds did not end once the watcher ran")
		}
		if r.res.err != nil || r.res.degraded {
			t.Fatalf("round result %+v, want a fresh cache", r.res)
		}
	}
	if n := rounds.Load(); n != roundsInFlight+1 {
		t.Fatalf("%d rounds served %d Checks, want %d", n, checks, roundsInFlight+1)
	}
}

// TestRoundWhenTheNewestEntryIsGone: a round's question names the message
// at the stream's last sequence. When that message was removed without a
// newer one (here purged by hand, as an operator might), there is nothing
// a watcher would deliver at that revision; the round must still prove the
// cache fresh (by storing a marker to wait for) rather than fail or wait
// out its lease.
func TestRoundWhenTheNewestEntryIsGone(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	f, st, ctx := fenceOn(t, n, 30*time.Second, nil)
	startWatcher(t, ctx, f)
	addMute(t, ctx, st, "kept", "m1")
	addMute(t, ctx, st, "removed", "m2")
	s, err := n.JS.Stream(ctx, store.KVStream(store.SuppressionsBucket))
	if err != nil {
		t.Fatal(err)
	}
	// A subject purge removes the key's messages without writing a
	// marker (KV's own PurgeDeletes does so for old delete markers).
	if err := s.Purge(ctx, jetstream.WithPurgeSubject("$KV."+store.SuppressionsBucket+"."+store.Token("removed"))); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LastRevision(ctx, st.SuppressionKV); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastRevision after deleting the newest message = %v, want ErrNotFound (the case under test)", err)
	}

	if res := f.round(ctx); res.err != nil || res.degraded {
		t.Fatalf("round = %+v, want a fresh cache", res)
	}
	if got := f.Cached("kept").Mutes; len(got) != 1 {
		t.Fatalf("cache after the round has mutes %+v, want m1", got)
	}
}
