package retention_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/testkit"
)

const threeYears = 3 * 365 * 24 * time.Hour

var t0 = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

type bundle struct {
	nats   *testkit.NATS
	clock  *clock.Fake
	index  *retention.Index
	audit  *audit.Recorder // touches the index, as forbear's does
	silent *audit.Recorder // writes without touching it (records of an older forbear)
	read   *store.Reader
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	n := testkit.StartNATS(t)
	idx, err := retention.OpenIndex(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{nats: n, clock: clock.NewFake(t0), index: idx,
		audit: audit.New(n.JS, "test", audit.WithActivity(idx.Touch)), silent: audit.New(n.JS, "test"), read: store.NewReader(n.JS)}
}

func (b *bundle) purger(t *testing.T, maxPerRun int) *retention.Purger {
	t.Helper()
	return b.purgerWith(t, retention.Options{Age: threeYears, MaxPerRun: maxPerRun})
}

// purgerWith is a purger on the bundle's NATS, index and clock.
func (b *bundle) purgerWith(t *testing.T, o retention.Options) *retention.Purger {
	t.Helper()
	o.JS, o.Index, o.Clock = b.nats.JS, b.index, b.clock
	p, err := retention.NewPurger(testkit.Context(t, time.Minute), o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// record writes a delivery record of borrower at, through rec, and waits
// for the index to have it.
func (b *bundle) record(t *testing.T, rec *audit.Recorder, borrower, reminder string, at time.Time) {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	d := domain.Delivery{ID: reminder, BorrowerID: borrower, LoanID: "L-" + borrower, Channel: domain.SMS, Status: domain.Sent, At: at}
	if err := rec.Record(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := b.index.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// stored counts a borrower's records: per reminder, suppression changes
// and the legacy subject.
func (b *bundle) stored(t *testing.T, borrower string) uint64 {
	t.Helper()
	ctx := testkit.Context(t, time.Minute)
	n, err := b.read.Count(ctx, store.DeliveriesStream, store.BorrowerRecordsFilter(borrower))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := b.read.Count(ctx, store.DeliveriesStream, store.LegacyDeliverySubject(borrower))
	if err != nil {
		t.Fatal(err)
	}
	return n + legacy
}

// legacyRecord stores a record where forbear kept them before subjects
// per reminder.
func (b *bundle) legacyRecord(t *testing.T, borrower string, at time.Time) {
	t.Helper()
	data, _ := json.Marshal(domain.Delivery{ID: "old", BorrowerID: borrower, Status: domain.Sent, At: at})
	if _, err := b.nats.JS.Publish(testkit.Context(t, time.Minute), store.LegacyDeliverySubject(borrower), data); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionPurgesOnlyIdleBorrowers: three years and more after a
// borrower's last record, every record of the borrower goes (per
// reminder, suppression changes, legacy); a borrower with a record since
// keeps all of theirs, the oldest included, and so does one whose index
// entry is behind (a record written without touching it).
func TestRetentionPurgesOnlyIdleBorrowers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	p := b.purger(t, 0)
	// A first run before any record: nothing older to index, so what
	// follows is indexed only as the recorder writes it.
	if rep, err := p.Run(ctx); err != nil || rep != (retention.Report{}) {
		t.Fatalf("first run on an empty trail: %+v, %v", rep, err)
	}
	b.record(t, b.audit, "idle", "L-idle/s/0/sms", t0)
	b.record(t, b.audit, "idle", "L-idle/s/1/sms", t0.Add(time.Hour))
	b.legacyRecord(t, "idle", t0.Add(-time.Hour))
	if err := b.audit.RecordSuppressionChanges(ctx, []domain.SuppressionChange{{BorrowerID: "idle", At: t0, Action: domain.ChangeAdded, Kind: "mute", ID: "m1", By: "desk"}}); err != nil {
		t.Fatal(err)
	}
	b.record(t, b.audit, "active", "L-active/s/0/sms", t0)
	b.record(t, b.audit, "active", "L-active/s/1/sms", t0.Add(2*365*24*time.Hour))
	b.record(t, b.audit, "behind", "L-behind/s/0/sms", t0)
	b.record(t, b.silent, "behind", "L-behind/s/1/sms", t0.Add(2*365*24*time.Hour))
	if err := b.index.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.stored(t, "idle"); n != 4 {
		t.Fatalf("idle borrower has %d records before the run, want 4", n)
	}

	// Not yet three years: nothing goes.
	b.clock.Set(t0.Add(threeYears - 48*time.Hour))
	if rep, err := p.Run(ctx); err != nil || rep.Purged != 0 {
		t.Fatalf("run before the age: %+v, %v; want nothing purged", rep, err)
	}
	if n := b.stored(t, "idle"); n != 4 {
		t.Fatalf("idle borrower has %d records before three years, want 4", n)
	}

	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	rep, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Purged != 1 || rep.Moved != 1 || rep.More {
		t.Errorf("report %+v, want one borrower purged, one moved, none left", rep)
	}
	if n := b.stored(t, "idle"); n != 0 {
		t.Errorf("idle borrower keeps %d records, want 0", n)
	}
	if n := b.stored(t, "active"); n != 2 {
		t.Errorf("active borrower keeps %d records, want both (the old one too)", n)
	}
	if n := b.stored(t, "behind"); n != 2 {
		t.Errorf("borrower with an unindexed recent record keeps %d records, want 2", n)
	}

	// The index moved "behind" to its real last activity: purged when
	// that is three years old, not before.
	b.clock.Set(t0.Add(2*365*24*time.Hour + threeYears - 48*time.Hour))
	if rep, err := p.Run(ctx); err != nil || rep.Purged != 0 {
		t.Fatalf("run before the active borrowers' age: %+v, %v", rep, err)
	}
	b.clock.Set(t0.Add(2*365*24*time.Hour + threeYears + 48*time.Hour))
	if rep, err := p.Run(ctx); err != nil || rep.Purged != 2 {
		t.Fatalf("run after the active borrowers' age: %+v, %v; want both purged", rep, err)
	}
	if n := b.stored(t, "behind") + b.stored(t, "active"); n != 0 {
		t.Errorf("%d records left", n)
	}
}

// TestRetentionRunIsBounded: a run purges at most MaxPerRun borrowers and
// says there are more; the next run goes on.
func TestRetentionRunIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	for _, id := range []string{"a", "b", "c"} {
		b.record(t, b.audit, id, "L/s/0/sms", t0)
	}
	p := b.purger(t, 2)
	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	first, err := p.Run(ctx)
	if err != nil || first.Purged != 2 || !first.More {
		t.Fatalf("first run %+v, %v; want 2 purged and more left", first, err)
	}
	second, err := p.Run(ctx)
	if err != nil || second.Purged != 1 || second.More {
		t.Fatalf("second run %+v, %v; want the last one", second, err)
	}
}

// TestRetentionRunsOnceADay: of two instances, one runs the day's purge;
// the next day it runs again; a run that stopped at its bound runs again
// at the next check.
func TestRetentionRunsOnceADay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	p1, p2 := b.purger(t, 1), b.purger(t, 1)
	b.clock.Set(t0)
	ran1, _, err := p1.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ran2, _, err := p2.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ran1 || ran2 {
		t.Fatalf("first instance ran %v, second %v; want only the first", ran1, ran2)
	}
	b.clock.Advance(2 * time.Hour)
	if ran, _, _ := p2.RunDue(ctx); ran {
		t.Errorf("ran twice the same day")
	}
	b.clock.Advance(24 * time.Hour)
	if ran, _, _ := p2.RunDue(ctx); !ran {
		t.Errorf("did not run the next day")
	}

	// Two idle borrowers, one per run: the run that stops at its bound
	// comes back at the next check.
	b.record(t, b.audit, "x", "L/s/0/sms", b.clock.Now())
	b.record(t, b.audit, "y", "L/s/0/sms", b.clock.Now())
	b.clock.Advance(threeYears + 48*time.Hour)
	ran, rep, err := p1.RunDue(ctx)
	if err != nil || !ran || !rep.More {
		t.Fatalf("run after three years: ran %v, %+v, %v; want a run with more left", ran, rep, err)
	}
	b.clock.Advance(10 * time.Minute)
	ran, rep, err = p2.RunDue(ctx)
	if err != nil || !ran || rep.Purged != 1 || rep.More {
		t.Fatalf("the next check: ran %v, %+v, %v; want the rest purged", ran, rep, err)
	}
	if ran, _, _ := p1.RunDue(ctx); ran {
		t.Errorf("ran again the same day after finishing")
	}
}

// TestTouchKeepsTheIndexCurrent: the index of a borrower moves with each
// day of activity, once a day however many records.
func TestTouchKeepsTheIndexCurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	for i := range 5 {
		b.record(t, b.audit, "busy", "L/s/"+string(rune('0'+i))+"/sms", t0.Add(time.Duration(i)*time.Minute))
	}
	b.record(t, b.audit, "busy", "L/s/9/sms", t0.Add(48*time.Hour))
	day, found, err := b.index.LastActivity(ctx, "busy")
	if err != nil || !found || day != "2026-01-12" {
		t.Fatalf("last activity %q %v %v, want 2026-01-12", day, found, err)
	}
	kv, err := b.nats.JS.KeyValue(ctx, store.RetentionBucket)
	if err != nil {
		t.Fatal(err)
	}
	// One key per borrower, at its last day: no entry per day of activity.
	if keys := keysOf(t, kv, "d.>"); len(keys) != 0 {
		t.Errorf("day keys %v, want none", keys)
	}
	keys := keysOf(t, kv, "b.>")
	if len(keys) != 1 || keys[0] != "b."+store.Token("busy") {
		t.Fatalf("borrower keys %v, want only the busy borrower's", keys)
	}
	if e, err := kv.Get(ctx, keys[0]); err != nil || string(e.Value()) != "2026-01-12" {
		t.Errorf("borrower key holds %q (%v), want 2026-01-12", valueOf(e), err)
	}
}

// TestRetentionIndexesOlderRecords: records stored before the index (by a
// forbear without it) are indexed by the runs, a bounded part each time:
// a borrower idle since then is purged, legacy records included, and one
// with a record since keeps all of theirs until that record is old.
func TestRetentionIndexesOlderRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	b.legacyRecord(t, "old", t0.Add(-time.Hour))
	b.record(t, b.silent, "old", "L-old/s/0/sms", t0)
	b.record(t, b.silent, "kept", "L-kept/s/0/sms", t0)
	b.record(t, b.silent, "kept", "L-kept/s/1/sms", t0.Add(365*24*time.Hour))
	if day, found, err := b.index.LastActivity(ctx, "old"); err != nil || found {
		t.Fatalf("index of a record written without it: %q %v %v, want none", day, found, err)
	}

	p := b.purgerWith(t, retention.Options{Age: threeYears, MaxScanPerRun: 2})
	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	var total retention.Report
	for runs := 0; ; runs++ {
		if runs == 10 {
			t.Fatalf("still more after %d runs: %+v", runs, total)
		}
		rep, err := p.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total.Purged += rep.Purged
		total.Scanned += rep.Scanned
		if !rep.More {
			break
		}
	}
	if total.Purged != 1 || total.Scanned != 4 {
		t.Errorf("runs did %+v, want 4 records scanned and one borrower purged", total)
	}
	if n := b.stored(t, "old"); n != 0 {
		t.Errorf("borrower idle since before the index keeps %d records, want 0", n)
	}
	if n := b.stored(t, "kept"); n != 2 {
		t.Errorf("borrower with a later record keeps %d records, want both", n)
	}
	if day, found, err := b.index.LastActivity(ctx, "kept"); err != nil || !found || day != "2027-01-10" {
		t.Errorf("kept borrower indexed at %q %v %v, want 2027-01-10", day, found, err)
	}

	// The scan is over: later runs read nothing again.
	if rep, err := p.Run(ctx); err != nil || rep.Scanned != 0 {
		t.Errorf("run after the scan: %+v, %v; want nothing scanned", rep, err)
	}
	b.clock.Set(t0.Add(365*24*time.Hour + threeYears + 48*time.Hour))
	if rep, err := p.Run(ctx); err != nil || rep.Purged != 1 {
		t.Fatalf("run three years after the kept borrower's last record: %+v, %v", rep, err)
	}
	if n := b.stored(t, "kept"); n != 0 {
		t.Errorf("kept borrower keeps %d records after its age, want 0", n)
	}
}

// TestRetentionZeroKeepsEverything: with an age of 0 no run happens, and
// one asked for removes nothing, however old the records.
func TestRetentionZeroKeepsEverything(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	b.record(t, b.audit, "idle", "L-idle/s/0/sms", t0)
	b.legacyRecord(t, "idle", t0)
	p := b.purgerWith(t, retention.Options{Age: 0})
	b.clock.Set(t0.Add(50 * 365 * 24 * time.Hour))
	if ran, rep, err := p.RunDue(ctx); err != nil || ran {
		t.Fatalf("due run with age 0: ran %v, %+v, %v; want none", ran, rep, err)
	}
	if rep, err := p.Run(ctx); err != nil || rep != (retention.Report{}) {
		t.Fatalf("run with age 0: %+v, %v; want one that does nothing", rep, err)
	}
	if n := b.stored(t, "idle"); n != 2 {
		t.Errorf("%d records left, want both", n)
	}
	if _, err := retention.NewPurger(ctx, retention.Options{JS: b.nats.JS, Index: b.index, Age: -time.Hour}); err == nil {
		t.Errorf("a negative age was taken")
	}
}

// keysOf lists the keys of kv matching filter.
func keysOf(t *testing.T, kv jetstream.KeyValue, filter string) []string {
	t.Helper()
	lister, err := kv.ListKeysFiltered(testkit.Context(t, time.Minute), filter)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil
		}
		t.Fatal(err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	return keys
}

// valueOf is an entry's value, "" for none.
func valueOf(e jetstream.KeyValueEntry) string {
	if e == nil {
		return ""
	}
	return string(e.Value())
}
