package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
	"github.com/forbear/forbear/scheduler"
)

// TestReadyzReportsASweepPastItsBudget: while a sweep runs past its
// budget, /readyz answers 503 naming the sweep; once it ends, 200. The
// sweep is held deliberately on the cached suppressions view, which is
// why this test lives inside the package: it gives the instance a
// scheduler built on the instance's own NATS and state with that view.
func TestReadyzReportsASweepPastItsBudget(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 2*time.Minute)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Scheduler.Timezone = "UTC"
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	a, err := New(ctx, cfg, Options{NATSURL: n.Server.ClientURL(), Instance: "A", Log: quiet, NoScheduler: true, NoHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.templates.Close()
		a.closeNATS()
	})

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	a.sched, err = scheduler.New(scheduler.Options{
		JS: a.js, State: a.state, Policies: a.policies, AgreementPolicy: cfg.Agreements.Policy,
		Log: logrus.NewEntry(quiet), Instance: "A", SweepBudget: 50 * time.Millisecond,
		Suppressions: func(string) (domain.Suppressions, bool) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return domain.Suppressions{}, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before any sweep: %d %s", code, body)
	}

	// A loan with a reminder due today, so the sweep consults the view.
	if err := a.state.PutBorrower(ctx, domain.Borrower{ID: "b1", Name: "b1", Locale: "en-US", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	due := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
	if err := a.state.PutCase(ctx, domain.Case{LoanID: "L1", BorrowerID: "b1", DueDate: due, Status: domain.LoanCurrent}); err != nil {
		t.Fatal(err)
	}
	if err := a.sched.Reindex(ctx, scheduler.KindLoan, "L1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.sched.Sweep(ctx)
		done <- err
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep never reached the suppressions view")
	}
	testkit.Eventually(t, 30*time.Second, "/readyz to answer 503", func() bool {
		code, _ := readyz()
		return code == http.StatusServiceUnavailable
	})
	if _, body := readyz(); !strings.Contains(body, "degraded") || !strings.Contains(body, "sweep") {
		t.Errorf("/readyz body %s does not say degraded and name the sweep", body)
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
	if code, body := readyz(); code != http.StatusOK {
		t.Errorf("/readyz after the sweep ended: %d %s", code, body)
	}
}
