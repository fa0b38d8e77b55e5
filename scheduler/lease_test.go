package scheduler

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

func TestLeaseOneLeaderSweeps(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	b := setup(t, local(sh, 2025, 3, 10, 9, 0))
	_, js2 := b.nats.Connect(t)
	a, other := b.sched, b.newScheduler(t, js2, "b")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})

	stA, ledA, err := a.SweepIfLeader(b.ctx)
	if err != nil || !ledA {
		t.Fatalf("a: led=%v err=%v", ledA, err)
	}
	if stA.Published != 2 {
		t.Errorf("a published %d, want 2", stA.Published)
	}
	if _, led, err := other.SweepIfLeader(b.ctx); err != nil || led {
		t.Fatalf("b swept while a leads: led=%v err=%v", led, err)
	}
	if !a.IsLeader() || other.IsLeader() {
		t.Errorf("IsLeader: a=%v b=%v", a.IsLeader(), other.IsLeader())
	}
	// a renews: still a.
	b.clock.Advance(10 * time.Second)
	if _, led, _ := a.SweepIfLeader(b.ctx); !led {
		t.Fatal("a lost the lease on renewal")
	}
	// a stops renewing (crashed); after the TTL, b takes over.
	b.clock.Advance(DefaultLeaseTTL + time.Second)
	if a.IsLeader() {
		t.Error("a still leader after its lease expired")
	}
	if err := other.Reindex(b.ctx, KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	stB, led, err := other.SweepIfLeader(b.ctx)
	if err != nil || !led {
		t.Fatalf("b did not take over: led=%v err=%v", led, err)
	}
	if stB.Published != 0 || stB.Skipped != 2 {
		t.Errorf("b republished: %+v", stB)
	}
	if _, led, _ := a.SweepIfLeader(b.ctx); led {
		t.Error("a swept after b took over")
	}
	// b releases on the way out: a can lead at once.
	if err := other.lease.release(b.ctx); err != nil {
		t.Fatal(err)
	}
	if _, led, _ := a.SweepIfLeader(b.ctx); !led {
		t.Error("a could not lead after b released")
	}
	if n := len(b.reminders(t)); n != 2 {
		t.Errorf("%d reminders, want 2", n)
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), func(o *Options) { o.Spec = "@every 1h" })
	if err := b.sched.Start(b.ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.sched.Start(b.ctx); err == nil {
		t.Error("second Start: no error")
	}
	if !b.sched.IsLeader() {
		t.Error("not leader after Start on an empty lease")
	}
	if err := b.sched.Stop(b.ctx); err != nil {
		t.Fatal(err)
	}
	if b.sched.IsLeader() {
		t.Error("still leader after Stop")
	}
	kv, err := b.nats.JS.KeyValue(b.ctx, store.LeasesBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(b.ctx, leaseKey); !store.IsNotFound(err) {
		t.Errorf("lease not released: %v", err)
	}
	if err := b.sched.Stop(b.ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
