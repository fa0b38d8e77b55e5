package app_test

import (
	"testing"
	"time"
)

// TestEventAtAnotherInstanceIsSentBeforeTheSweep: an event taken by an
// instance that does not lead is sent at once by the leader, not at the
// next scheduled sweep (an hour away here).
func TestEventAtAnotherInstanceIsSentBeforeTheSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := w.config(t, 0, "sms")
	cfg.Scheduler.Sweep = "@every 1h"
	a := w.start(t, cfg, "A") // takes the sweep lease
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	b := w.start(t, cfgB, "B")
	if !a.Scheduler().IsLeader() || b.Scheduler().IsLeader() {
		t.Fatalf("IsLeader: A=%v B=%v, want A only", a.Scheduler().IsLeader(), b.Scheduler().IsLeader())
	}

	loadBorrowers(t, "http://"+b.Addr(), 3, 0)
	for i := range 3 {
		waitFor(t, 30*time.Second, "the SMS of borrower "+phone(i), func() bool { return postsTo(w, phone(i)) == 1 })
	}
}
