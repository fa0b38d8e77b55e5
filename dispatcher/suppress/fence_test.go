package suppress

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// runningFence is a fence over n with its rounds and its watcher running,
// as Start runs them.
func runningFence(t *testing.T, n *testkit.NATS, lease time.Duration, observe func(time.Duration)) *Fence {
	t.Helper()
	f, _, ctx := fenceOn(t, n, lease, observe)
	startWatcher(t, ctx, f)
	return f
}

func TestFenceSeesEveryAcknowledgedWriteFromAnotherConnection(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	f := runningFence(t, n, 50*time.Millisecond, nil)
	ctx := testkit.Context(t, time.Minute)
	// Another instance writes; this instance's fence must see each write
	// that completed before Check was called, every time.
	_, js2 := n.Connect(t)
	st2, err := store.OpenState(ctx, js2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		borrower := fmt.Sprintf("b%d", i)
		if _, err := st2.UpdateSuppressions(ctx, borrower, func(s *domain.Suppressions) error {
			s.Mutes = append(s.Mutes, domain.Mute{ID: "m", Reason: "test"})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sup, until, err := f.Check(ctx, borrower)
		if err != nil {
			t.Fatal(err)
		}
		if len(sup.Mutes) != 1 {
			t.Fatalf("write %d: fence view has %d mutes, want 1 (stale view)", i, len(sup.Mutes))
		}
		if until.Before(time.Now().Add(-50 * time.Millisecond)) {
			t.Fatalf("validUntil %v is already far in the past", until)
		}
	}
}

// TestConcurrentChecksSeeWritesAcknowledgedBeforeThem: many sends at once,
// each after a suppression acknowledged to another instance, with rounds
// overlapping: every Check must see the write acknowledged before it.
func TestConcurrentChecksSeeWritesAcknowledgedBeforeThem(t *testing.T) {
	t.Parallel()
	// A lease long enough that a slow round on a busy machine is not an
	// error; the assertion is about what the rounds see, not their pace.
	n := testkit.StartNATS(t)
	f := runningFence(t, n, time.Second, nil)
	ctx := testkit.Context(t, 2*time.Minute)
	_, js2 := n.Connect(t)
	st2, err := store.OpenState(ctx, js2)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 32, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				borrower := fmt.Sprintf("w%d-%d", w, i)
				if _, err := st2.UpdateSuppressions(ctx, borrower, func(s *domain.Suppressions) error {
					s.Mutes = append(s.Mutes, domain.Mute{ID: "m", Reason: "test"})
					return nil
				}); err != nil {
					t.Error(err)
					return
				}
				sup, _, err := f.Check(ctx, borrower)
				if err != nil {
					t.Error(err)
					return
				}
				if len(sup.Mutes) != 1 {
					t.Errorf("%s: fence view has %d mutes, want 1 (stale view)", borrower, len(sup.Mutes))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestFenceGroupsConcurrentChecks(t *testing.T) {
	t.Parallel()
	ctx := testkit.Context(t, time.Minute)
	rounds := 0
	var mu sync.Mutex
	f := runningFence(t, testkit.StartNATS(t), time.Second, func(time.Duration) { mu.Lock(); rounds++; mu.Unlock() })
	const checks = 500
	var wg sync.WaitGroup
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.Check(ctx, fmt.Sprintf("b%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if rounds >= checks {
		t.Fatalf("%d fence rounds for %d concurrent checks: not grouped", rounds, checks)
	}
	t.Logf("%d checks served by %d fence rounds", checks, rounds)
}
