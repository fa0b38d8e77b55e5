package scheduler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// startForTest starts s and stops it when the test ends.
func (b *bundle) start(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Start(b.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(b.ctx) })
}

// TestReindexPublishesWithoutCron: a reindexed loan's due reminders go
// out at once, not at the next scheduled sweep. The cron is hours away
// and the injected clock never moves, so only the nudge can sweep.
func TestReindexPublishesWithoutCron(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), func(o *Options) { o.Spec = "@every 1h" })
	b.start(t, b.sched)
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"}) // reindexes

	testkit.Eventually(t, 20*time.Second, "the reindexed loan's reminders published", func() bool { return len(b.reminders(t)) == 2 })
	if want := []string{"L1/pre-due/0/sms", "L1/pre-due/0/inapp"}; !slices.Equal(ids(b.reminders(t)), want) {
		t.Errorf("reminders = %v, want %v", ids(b.reminders(t)), want)
	}
	// It was a sweep of the now lane only: the cursor the scheduled sweep
	// keeps was never written, and the loan waits at its next due minute.
	if _, err := b.sched.due.Get(b.ctx, cursorKey); !store.IsNotFound(err) {
		t.Errorf("cursor written (err %v): a full sweep ran", err)
	}
	testkit.Eventually(t, 20*time.Second, "the loan moved to its next due minute", func() bool {
		return b.indexEntry(t, KindLoan, "L1") == "t.2025.03.13.16.00.loan.L1"
	})
}

// TestReindexOnAnotherInstanceReachesTheLeader: the instance that takes an
// event need not lead; the leader hears of it and sweeps.
func TestReindexOnAnotherInstanceReachesTheLeader(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	hourly := func(o *Options) { o.Spec = "@every 1h" }
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), hourly)
	_, js2 := b.nats.Connect(t)
	other := b.newScheduler(t, js2, "b", hourly)
	b.start(t, b.sched) // leads
	b.start(t, other)
	if !b.sched.IsLeader() || other.IsLeader() {
		t.Fatalf("IsLeader: a=%v b=%v", b.sched.IsLeader(), other.IsLeader())
	}
	b.putBorrower(t, "b1", "Asia/Shanghai")
	if err := b.state.PutCase(b.ctx, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanCurrent}); err != nil {
		t.Fatal(err)
	}
	if err := other.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "the leader published the loan's reminders", func() bool { return len(b.reminders(t)) == 2 })
}

// TestNudgeBurstCoalesces: ten thousand nudges cost a few now-lane
// sweeps, at most one per gap, not one each.
func TestNudgeBurstCoalesces(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	const gap = 100 * time.Millisecond
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), func(o *Options) { o.Spec = "@every 1h"; o.NudgeGap = gap })
	b.start(t, b.sched)
	b.putBorrower(t, "b1", "Asia/Shanghai")
	if err := b.state.PutCase(b.ctx, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13", Status: domain.LoanCurrent}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	for range 10_000 {
		if err := b.nats.Conn.Publish(store.SweepNudgeSubject, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The loan enters the lane without a nudge of its own; the last
	// nudge, on the same connection as the burst, follows every other.
	if err := b.sched.reindex(b.ctx, subject{kind: KindLoan, id: "L1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.nats.Conn.Publish(store.SweepNudgeSubject, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the loan's reminders published", func() bool { return len(b.reminders(t)) == 2 })
	testkit.Eventually(t, 30*time.Second, "every nudge taken", func() bool {
		n, _, err := b.sched.nudgeSub.Pending()
		return err == nil && n == 0
	})
	elapsed := time.Since(began)

	// At most one nudge is still pending, for one more sweep.
	sweeps := b.sched.laneSweeps.Load()
	if limit := int64(elapsed/gap) + 2; sweeps < 1 || sweeps > limit {
		t.Errorf("%d now-lane sweeps for 10001 nudges in %s, want 1 to %d (one per %s gap)", sweeps, elapsed, limit, gap)
	}
	t.Logf("%d now-lane sweeps for 10001 nudges in %s", sweeps, elapsed.Round(time.Millisecond))
}

// TestFailedSubjectWaitsForTheScheduledSweep: a subject that fails stays
// in the now lane, but the now-lane sweeps other events ask for leave it
// to the scheduled sweep, as before nudges; otherwise a steady stream of
// events would retry (and log) a broken record every gap.
func TestFailedSubjectWaitsForTheScheduledSweep(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	log, hook := logtest.NewNullLogger()
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), func(o *Options) {
		o.Spec = "@every 1h"
		o.Policies["broken"] = nil // planning panics, see TestSweepContainsPanickingSubject
		o.Log = logrus.NewEntry(log)
	})
	failures := func() int {
		n := 0
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.ErrorLevel && e.Data["id"] == "L-panic" && strings.Contains(e.Message, "subject failed") {
				n++
			}
		}
		return n
	}
	b.start(t, b.sched)
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L-panic", BorrowerID: "b1", DueDate: "2025-03-13", Policy: "broken"})
	testkit.Eventually(t, 20*time.Second, "L-panic failed once", func() bool { return failures() > 0 })
	// Two more events, each swept at once; neither sweep retries L-panic.
	for i, loan := range []string{"L1", "L2"} {
		b.putCase(t, domain.Case{LoanID: loan, BorrowerID: "b1", DueDate: "2025-03-13"})
		testkit.Eventually(t, 20*time.Second, loan+"'s reminders published", func() bool { return len(b.reminders(t)) == 2*(i+1) })
	}
	if n := failures(); n != 1 {
		t.Errorf("L-panic failed %d times, want once: now-lane sweeps retried it", n)
	}
	if e := b.indexEntry(t, KindLoan, "L-panic"); e != "now.loan.L-panic" {
		t.Errorf("L-panic indexed at %q, want the now lane", e)
	}
	// The scheduled sweep retries it.
	if st := b.sweep(t); st.Failed != 1 {
		t.Errorf("scheduled sweep: %+v, want L-panic retried (1 failed)", st)
	}
}
