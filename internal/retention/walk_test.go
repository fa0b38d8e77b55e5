package retention_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/testkit"
)

const twoYears = 2 * 365 * 24 * time.Hour

// TestTouchWritesOneKeyPerBorrower: however many days a borrower has
// records on, the bucket's stream holds one message for the borrower (the
// index grew by a key per borrower and active day before).
func TestTouchWritesOneKeyPerBorrower(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 24 * time.Hour)
		b.record(t, b.audit, "busy", fmt.Sprintf("L/s/%d/sms", i), at)
		b.record(t, b.audit, "busy", fmt.Sprintf("L/s/%d/email", i), at.Add(time.Hour))
	}
	b.record(t, b.audit, "calm", "L/s/0/sms", t0)
	s, err := b.nats.JS.Stream(ctx, store.KVStream(store.RetentionBucket))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("the index's stream holds %d messages, want 2 (one per borrower)", info.State.Msgs)
	}
	if day, found, err := b.index.LastActivity(ctx, "busy"); err != nil || !found || day != "2026-02-08" {
		t.Errorf("last activity %q %v %v, want 2026-02-08", day, found, err)
	}
}

// TestRetentionFoldsTheOlderIndex: an index of the older layout (a day
// key per borrower and active day beside the borrower key) is folded into
// the borrower keys by a run, which purges its idle borrowers (one whose
// borrower key was lost too) and keeps an active one whose borrower key
// was behind its day keys, without moving it: no day key is left.
func TestRetentionFoldsTheOlderIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	kv, err := b.nats.JS.KeyValue(ctx, store.RetentionBucket)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, value string) {
		t.Helper()
		if _, err := kv.Put(ctx, key, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	// Records as a forbear of the older layout wrote them, and its index.
	b.record(t, b.silent, "idle", "L-idle/s/0/sms", t0)
	put("d.2026.01.10.idle", "")
	put("b.idle", "2026-01-10")
	b.record(t, b.silent, "lost", "L-lost/s/0/sms", t0)
	put("d.2026.01.10.lost", "") // its borrower key was never stored
	b.record(t, b.silent, "active", "L-active/s/0/sms", t0)
	b.record(t, b.silent, "active", "L-active/s/1/sms", t0.Add(twoYears))
	put("d.2026.01.10.active", "")
	put("b.active", "2026-01-10")
	put("d.2028.01.10.active", "") // its borrower key's write was lost

	p := b.purger(t, 0)
	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	rep, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Purged != 2 || rep.Moved != 0 || rep.Stale != 4 || rep.More {
		t.Errorf("report %+v, want two purged, the four day keys dropped, none moved, none left", rep)
	}
	if keys := keysOf(t, kv, "d.>"); len(keys) != 0 {
		t.Errorf("day keys %v left, want none", keys)
	}
	if n := b.stored(t, "idle") + b.stored(t, "lost"); n != 0 {
		t.Errorf("idle borrowers keep %d records, want 0", n)
	}
	if n := b.stored(t, "active"); n != 2 {
		t.Errorf("active borrower keeps %d records, want 2", n)
	}
	if day, found, err := b.index.LastActivity(ctx, "active"); err != nil || !found || day != "2028-01-10" {
		t.Errorf("active borrower indexed at %q %v %v, want 2028-01-10", day, found, err)
	}
	if keys := keysOf(t, kv, "b.>"); len(keys) != 1 {
		t.Errorf("borrower keys %v, want only the active one's", keys)
	}

	// The older layout is gone: a run reads the one borrower key.
	if rep, err := p.Run(ctx); err != nil || rep != (retention.Report{Walked: 1}) {
		t.Errorf("next run %+v, %v; want one entry read and nothing done", rep, err)
	}
}

// TestRetentionWalkIsBoundedAndResumes: a run reads at most MaxWalkPerRun
// entries of the index and says there are more; the next one goes on where
// it stopped, past young entries (touched first or last, in any order),
// until every idle borrower is purged; the run that reaches the end
// forgets where the walk was.
func TestRetentionWalkIsBoundedAndResumes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	var young, idle []string
	for i := range 4 {
		young = append(young, fmt.Sprintf("young%d", i))
	}
	for i := range 11 {
		idle = append(idle, fmt.Sprintf("idle%d", i))
	}
	// Young borrowers before and after the idle ones in the index's order.
	for _, id := range young[:2] {
		b.record(t, b.audit, id, "L/s/0/sms", t0.Add(twoYears))
	}
	for _, id := range idle {
		b.record(t, b.audit, id, "L/s/0/sms", t0)
	}
	for _, id := range young[2:] {
		b.record(t, b.audit, id, "L/s/0/sms", t0.Add(twoYears))
	}

	const budget = 4
	p := b.purgerWith(t, retention.Options{Age: threeYears, MaxWalkPerRun: budget})
	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	purged, runs := 0, 0
	for more := true; more; runs++ {
		if runs == 20 {
			t.Fatalf("still more after %d runs, %d purged", runs, purged)
		}
		rep, err := p.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Walked > budget {
			t.Errorf("run %d read %d entries, more than %d", runs, rep.Walked, budget)
		}
		purged += rep.Purged
		more = rep.More
	}
	// 15 entries, 4 a run: the fourth run reaches the end.
	if purged != len(idle) || runs != 4 {
		t.Errorf("%d runs purged %d borrowers, want 4 runs and %d", runs, purged, len(idle))
	}
	for _, id := range idle {
		if n := b.stored(t, id); n != 0 {
			t.Errorf("idle borrower %s keeps %d records", id, n)
		}
	}
	for _, id := range young {
		if n := b.stored(t, id); n != 1 {
			t.Errorf("young borrower %s keeps %d records, want 1", id, n)
		}
	}
	kv, err := b.nats.JS.KeyValue(ctx, store.RetentionBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "walk"); !store.IsNotFound(err) {
		t.Errorf("the walk's position after its end: %v, want none", err)
	}
	// The next walk starts at the beginning: the young ones left, all
	// read in one run.
	if rep, err := p.Run(ctx); err != nil || rep != (retention.Report{Walked: len(young)}) {
		t.Errorf("run after the end %+v, %v; want the %d young entries read and nothing done", rep, err, len(young))
	}
}
