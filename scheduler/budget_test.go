package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/testkit"
)

// TestSweepOverBudgetIsVisible: a sweep that runs past its budget says so
// while it runs: a warning, a counter, and Degraded (which /readyz
// reports). Once it ends, the instance is no longer degraded.
func TestSweepOverBudgetIsVisible(t *testing.T) {
	t.Parallel()
	sh := mustZone(t, "Asia/Shanghai")
	log, hook := logtest.NewNullLogger()
	m := metrics.New()
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	b := setup(t, local(sh, 2025, 3, 10, 9, 0), func(o *Options) {
		o.Log = logrus.NewEntry(log)
		o.Metrics = m
		o.SweepBudget = 50 * time.Millisecond
		// The cached suppressions view is asked during the sweep: holding
		// it holds the sweep, deliberately.
		o.Suppressions = func(string) (domain.Suppressions, bool) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return domain.Suppressions{}, false
		}
	})
	b.putBorrower(t, "b1", "Asia/Shanghai")
	b.putCase(t, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: "2025-03-13"})
	if err := b.sched.Degraded(); err != nil {
		t.Fatalf("Degraded before any sweep: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := b.sched.Sweep(b.ctx)
		done <- err
	}()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep never reached the suppressions view")
	}
	testkit.Eventually(t, 30*time.Second, "Degraded while the sweep is over budget", func() bool { return b.sched.Degraded() != nil })
	if err := b.sched.Degraded(); !strings.Contains(err.Error(), "degraded") || !strings.Contains(err.Error(), "sweep") {
		t.Errorf("Degraded = %q, want it to say degraded and name the sweep", err)
	}
	testkit.Eventually(t, 30*time.Second, "a warning while the sweep runs", func() bool {
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.WarnLevel && strings.Contains(e.Message, "budget") {
				return true
			}
		}
		return false
	})
	if got := metricValue(t, m, "forbear_sweep_overruns_total"); got != 1 {
		t.Errorf("forbear_sweep_overruns_total = %v while over budget, want 1", got)
	}

	close(release)
	released = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep did not end once released")
	}
	if err := b.sched.Degraded(); err != nil {
		t.Errorf("Degraded after the sweep ended: %v", err)
	}
	if got := metricValue(t, m, "forbear_sweep_seconds"); got != 1 {
		t.Errorf("forbear_sweep_seconds count = %v, want 1", got)
	}
	if got := metricValue(t, m, "forbear_reminders_published_total"); got != 2 {
		t.Errorf("forbear_reminders_published_total = %v, want 2", got)
	}
}

// TestSkippedRunIsAWarning: a cron run skipped because the previous sweep
// is still running is logged at warn level, not hidden at debug.
func TestSkippedRunIsAWarning(t *testing.T) {
	t.Parallel()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	m := metrics.New()
	l := cronLogger{log: logrus.NewEntry(log), skipped: m.SweepSkipped}
	entered, release := make(chan struct{}), make(chan struct{})
	job := cron.NewChain(jobWrappers(l)...).Then(cron.FuncJob(func() {
		close(entered)
		<-release
	}))
	first := make(chan struct{})
	go func() {
		defer close(first)
		job.Run()
	}()
	<-entered
	job.Run() // skipped: the first run still holds the token
	close(release)
	<-first
	found := false
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && strings.Contains(e.Message, "skip") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for the skipped run; got %v", logLines(hook))
	}
	if got := metricValue(t, m, "forbear_sweep_skipped_total"); got != 1 {
		t.Errorf("forbear_sweep_skipped_total = %v, want 1", got)
	}
}

// metricValue is a counter's value or a histogram's sample count.
func metricValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, x := range mf.GetMetric() {
			switch {
			case x.GetCounter() != nil:
				sum += x.GetCounter().GetValue()
			case x.GetHistogram() != nil:
				sum += float64(x.GetHistogram().GetSampleCount())
			}
		}
		return sum
	}
	return 0
}
