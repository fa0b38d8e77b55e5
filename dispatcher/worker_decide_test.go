package dispatcher

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/ground/store"
)

// The worker's decisions, driven without NATS: every storage interface is
// filled with a map (worker_fakes_test.go).

// decideBundle is a worker over maps, with the reminder it delivers.
type decideBundle struct {
	w        *Worker
	state    *mapState
	fence    *mapFence
	ledger   *mapLedger
	records  *listRecords
	optOuts  *listOptOuts
	provider *scriptedProvider
	clock    *clock.Fake
	r        domain.Reminder
}

func setupDecide(t *testing.T) *decideBundle {
	t.Helper()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	b := &decideBundle{
		state: &mapState{
			borrowers:  map[string]domain.Borrower{"b-1": {ID: "b-1", Name: "Li Lei", Phone: "+8613800000001"}},
			cases:      map[string]domain.Case{"L-1": {LoanID: "L-1", BorrowerID: "b-1", Status: "overdue"}},
			agreements: map[string]domain.Agreement{},
		},
		fence:    &mapFence{sup: map[string]domain.Suppressions{}},
		ledger:   &mapLedger{attempts: map[string]compliance.Attempt{}},
		records:  &listRecords{},
		optOuts:  &listOptOuts{},
		provider: &scriptedProvider{},
		clock:    clock.NewFake(now),
		r: domain.Reminder{ID: "L-1/d1/0/sms", BorrowerID: "b-1", LoanID: "L-1", Channel: domain.SMS,
			Category: domain.Collection, Step: "d1", Template: "overdue"},
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	b.w = &Worker{o: WorkerOptions{
		Channel: domain.SMS, Provider: b.provider, State: b.state, Fence: b.fence, Renderer: plainRenderer{},
		Audit: b.records, Intake: b.optOuts, Ledger: b.ledger, Metrics: metrics.New(), Clock: b.clock,
		Log: logrus.NewEntry(log),
	}.withDefaults()}
	return b
}

// snapshot gives the reminder a snapshot taken now of the borrower (with a
// number of its own, to tell where a send went) at borrowerRev and of its
// case at caseRev.
func (b *decideBundle) snapshot(borrowerRev, caseRev uint64) {
	b.r.QueuedAt = b.clock.Now()
	b.r.Snapshot = &domain.Snapshot{
		Borrower: &domain.Borrower{ID: "b-1", Name: "Li Lei", Phone: "+8613800000009"}, BorrowerRev: borrowerRev,
		Case: &domain.Case{LoanID: "L-1", BorrowerID: "b-1", Status: "overdue"}, CaseRev: caseRev,
	}
}

func (b *decideBundle) deliver(delivered uint64) outcome {
	return b.w.deliver(context.Background(), job{r: b.r, delivered: delivered, log: b.w.o.Log})
}

func TestWorkerDecisions(t *testing.T) {
	t.Parallel()
	transient := &channels.Error{Kind: channels.Retry, Code: "20429", RetryAfter: 20 * time.Second, Err: errors.New("too many requests")}
	permanent := &channels.Error{Kind: channels.Permanent, Code: "21211", Err: errors.New("invalid number")}
	optedOut := &channels.Error{Kind: channels.OptedOut, Code: "21610", Err: errors.New("unsubscribed")}
	tests := []struct {
		name      string
		prepare   func(b *decideBundle)
		delivered uint64
		want      outcome
		wantSends int
		// wantRecord is the status and reason of the one record written
		// ("" status: none).
		wantStatus  domain.Status
		wantReason  string
		wantAttempt string // the ledger's outcome of the attempt
		wantTo      string // where the sends went, when set
	}{
		{
			name:      "first delivery is sent and recorded",
			delivered: 1, want: done(), wantSends: 1,
			wantStatus: domain.Sent, wantAttempt: OutcomePending,
		},
		{
			name: "a redelivery whose send is recorded is acked without a provider call",
			prepare: func(b *decideBundle) {
				_ = b.records.Record(context.Background(), domain.Delivery{ID: b.r.ID, BorrowerID: "b-1", Channel: domain.SMS, Status: domain.Sent, ProviderRef: "SM-1"})
			},
			delivered: 2, want: done(), wantSends: 0,
		},
		{
			name: "a redelivery the provider already has is recorded as found, not resent",
			prepare: func(b *decideBundle) {
				b.provider.found = true
				b.ledger.attempts[b.r.ID] = compliance.Attempt{ID: b.r.ID, Outcome: OutcomePending, Started: time.Now()}
			},
			delivered: 2, want: done(), wantSends: 0,
			wantStatus: domain.Sent, wantReason: "found at provider after redelivery", wantAttempt: OutcomePending,
		},
		{
			name: "a redelivery whose attempt the fence cancelled is sent without asking the provider",
			prepare: func(b *decideBundle) {
				b.provider.found = true // would be taken for this one if asked
				b.ledger.attempts[b.r.ID] = compliance.Attempt{ID: b.r.ID, Outcome: OutcomeCanceled, Started: time.Now()}
			},
			delivered: 2, want: done(), wantSends: 1,
			wantStatus: domain.Sent, wantAttempt: OutcomePending,
		},
		{
			name: "a muted borrower is suppressed with the mute as reason",
			prepare: func(b *decideBundle) {
				b.fence.sup["b-1"] = domain.Suppressions{BorrowerID: "b-1", Mutes: []domain.Mute{{ID: "m-1", Reason: "complaint"}}}
			},
			delivered: 1, want: done(), wantSends: 0,
			wantStatus: domain.Suppressed, wantReason: "mute:m-1", wantAttempt: OutcomeCanceled,
		},
		{
			name:      "a closed case is suppressed before rendering",
			prepare:   func(b *decideBundle) { b.state.cases["L-1"] = domain.Case{LoanID: "L-1", Status: domain.LoanPaid} },
			delivered: 1, want: done(), wantSends: 0,
			wantStatus: domain.Suppressed, wantReason: "case_closed:" + domain.LoanPaid,
		},
		{
			name: "a fresh snapshot is sent as copied, without reading the borrower or the case",
			prepare: func(b *decideBundle) {
				b.snapshot(7, 9)
				delete(b.state.borrowers, "b-1")
				delete(b.state.cases, "L-1")
			},
			delivered: 1, want: done(), wantSends: 1, wantTo: "+8613800000009",
			wantStatus: domain.Sent, wantAttempt: OutcomePending,
		},
		{
			name: "a snapshot the watched view outdates is read again",
			prepare: func(b *decideBundle) {
				b.snapshot(7, 9)
				b.fence.sup["b-1"] = domain.Suppressions{BorrowerID: "b-1", Changed: &domain.Changed{Cases: 10, At: b.clock.Now()}}
				b.state.cases["L-1"] = domain.Case{LoanID: "L-1", Status: domain.LoanPaid}
			},
			delivered: 1, want: done(), wantSends: 0,
			wantStatus: domain.Suppressed, wantReason: "case_closed:" + domain.LoanPaid,
		},
		{
			name: "a snapshot only the fence's view outdates goes back at once to be read, with no call",
			prepare: func(b *decideBundle) {
				b.snapshot(7, 9)
				b.fence.watched = map[string]domain.Suppressions{}
				b.fence.sup["b-1"] = domain.Suppressions{BorrowerID: "b-1", Changed: &domain.Changed{Borrower: 8, At: b.clock.Now()}}
			},
			delivered: 1, want: retryIn(0), wantSends: 0,
			wantAttempt: OutcomeCanceled,
		},
		{
			name: "a snapshot older than its age limit is read again",
			prepare: func(b *decideBundle) {
				b.snapshot(7, 9)
				b.r.QueuedAt = b.clock.Now().Add(-domain.SnapshotMaxAge)
			},
			delivered: 1, want: done(), wantSends: 1, wantTo: "+8613800000001",
			wantStatus: domain.Sent, wantAttempt: OutcomePending,
		},
		{
			name:      "an unknown borrower fails",
			prepare:   func(b *decideBundle) { delete(b.state.borrowers, "b-1") },
			delivered: 1, want: done(), wantSends: 0,
			wantStatus: domain.Failed, wantReason: "unknown_borrower",
		},
		{
			name: "a reached cap defers until its window, at most MaxDefer",
			prepare: func(b *decideBundle) {
				b.ledger.decision = &compliance.Decision{Status: domain.Deferred, Rule: "cap", Reason: "cap[forbear default]: 3 in 7 days",
					Until: b.clock.Now().Add(40 * time.Minute)}
			},
			delivered: 1, want: deferFor(40 * time.Minute), wantSends: 0,
			wantStatus: domain.Deferred, wantReason: "cap[forbear default]: 3 in 7 days",
		},
		{
			name: "a deferral far off comes back after MaxDefer",
			prepare: func(b *decideBundle) {
				b.ledger.decision = &compliance.Decision{Status: domain.Deferred, Rule: "window", Reason: "window: night",
					Until: b.clock.Now().Add(9 * time.Hour)}
			},
			delivered: 1, want: deferFor(time.Hour), wantSends: 0,
			wantStatus: domain.Deferred, wantReason: "window: night",
		},
		{
			name: "a deferral already recorded with the same reason is not recorded again",
			prepare: func(b *decideBundle) {
				b.ledger.decision = &compliance.Decision{Status: domain.Deferred, Rule: "window", Reason: "window: night",
					Until: b.clock.Now().Add(2 * time.Second)}
				_ = b.records.Record(context.Background(), domain.Delivery{ID: b.r.ID, BorrowerID: "b-1", Status: domain.Deferred, Reason: "window: night"})
			},
			delivered: 3, want: deferFor(2 * time.Second), wantSends: 0,
		},
		{
			name: "a capped reminder ends with its record",
			prepare: func(b *decideBundle) {
				b.ledger.decision = &compliance.Decision{Status: domain.Capped, Rule: "cap", Reason: "cap: 7 calls in 7 days"}
			},
			delivered: 1, want: done(), wantSends: 0,
			wantStatus: domain.Capped, wantReason: "cap: 7 calls in 7 days",
		},
		{
			name:      "a transient provider error retries after the provider's delay",
			prepare:   func(b *decideBundle) { b.provider.errs = []error{transient} },
			delivered: 1, want: retryIn(20 * time.Second), wantSends: 1,
			wantAttempt: OutcomeFailed,
		},
		{
			name:      "a transient provider error retries with backoff when it is longer",
			prepare:   func(b *decideBundle) { b.provider.errs = []error{errors.New("connection reset")} },
			delivered: 4, want: retryIn(8 * time.Second), wantSends: 1,
			wantAttempt: OutcomeFailed,
		},
		{
			name:      "a permanent provider error fails the reminder",
			prepare:   func(b *decideBundle) { b.provider.errs = []error{permanent} },
			delivered: 1, want: done(), wantSends: 1,
			wantStatus: domain.Failed, wantReason: "provider_error 21211: " + permanent.Error(), wantAttempt: OutcomeFailed,
		},
		{
			name:      "a provider opt-out fails the reminder and records the opt-out",
			prepare:   func(b *decideBundle) { b.provider.errs = []error{optedOut} },
			delivered: 1, want: done(), wantSends: 1,
			wantStatus: domain.Failed, wantReason: "opted_out: recipient opted out (21610); suppression recorded", wantAttempt: OutcomeFailed,
		},
		{
			name:      "a fence that does not answer retries without a provider call",
			prepare:   func(b *decideBundle) { b.fence.err = errors.New("no responders") },
			delivered: 2, want: retryIn(2 * time.Second), wantSends: 0,
			wantAttempt: OutcomePending,
		},
		{
			name: "a fence that keeps expiring retries and cancels the attempt",
			prepare: func(b *decideBundle) {
				b.provider.errs = slices.Repeat([]error{channels.ErrFenceExpired}, maxFenceRounds)
			},
			delivered: 1, want: retryIn(time.Second), wantSends: maxFenceRounds,
			wantAttempt: OutcomeCanceled,
		},
		{
			name:      "a fence that expires once fences again and sends",
			prepare:   func(b *decideBundle) { b.provider.errs = []error{channels.ErrFenceExpired} },
			delivered: 1, want: done(), wantSends: 2,
			wantStatus: domain.Sent, wantAttempt: OutcomePending,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDecide(t)
			if tt.prepare != nil {
				tt.prepare(b)
			}
			before := len(b.records.list())
			if got := b.deliver(tt.delivered); got != tt.want {
				t.Fatalf("outcome = %+v, want %+v", got, tt.want)
			}
			if got := b.provider.calls(); got != tt.wantSends {
				t.Errorf("provider calls = %d, want %d", got, tt.wantSends)
			}
			if got := b.provider.lastTo(); tt.wantTo != "" && got != tt.wantTo {
				t.Errorf("sent to %q, want %q", got, tt.wantTo)
			}
			written := b.records.list()[before:]
			switch {
			case tt.wantStatus == "" && len(written) > 0:
				t.Errorf("records written = %+v, want none", written)
			case tt.wantStatus != "" && len(written) != 1:
				t.Errorf("records written = %+v, want one %s", written, tt.wantStatus)
			case tt.wantStatus != "":
				if d := written[0]; d.Status != tt.wantStatus || d.Reason != tt.wantReason {
					t.Errorf("record = %s %q, want %s %q", d.Status, d.Reason, tt.wantStatus, tt.wantReason)
				}
			}
			if got := b.ledger.outcome(b.r.ID); got != tt.wantAttempt {
				t.Errorf("ledger attempt outcome = %q, want %q", got, tt.wantAttempt)
			}
		})
	}
}

func TestProviderOptOutIsRecordedAsASuppression(t *testing.T) {
	t.Parallel()
	b := setupDecide(t)
	b.provider.errs = []error{&channels.Error{Kind: channels.OptedOut, Code: "21610", Err: errors.New("unsubscribed")}}
	b.deliver(1)
	want := []domain.OptOut{{Channel: domain.SMS, Address: "+8613800000001", Source: "provider 21610", At: b.clock.Now()}}
	if !slices.EqualFunc(b.optOuts.list, want, func(a, b domain.OptOut) bool { return a == b }) {
		t.Fatalf("opt-outs = %+v, want %+v", b.optOuts.list, want)
	}
}

func TestSettleMapsEachOutcomeToOneAction(t *testing.T) {
	t.Parallel()
	r := domain.Reminder{ID: "L-1/d1/0/sms", BorrowerID: "b-1"}
	tests := []struct {
		name          string
		out           outcome
		scheduleErr   error
		want          string
		wantDelay     time.Duration
		wantScheduled bool
	}{
		{name: "done acks", out: done(), want: "ack"},
		{name: "retry naks with its delay", out: retryIn(3 * time.Second), want: "nak", wantDelay: 3 * time.Second},
		{name: "drop terminates", out: drop("undecodable reminder"), want: "term"},
		{name: "a short deferral naks", out: deferFor(scheduleAfter - time.Second), want: "nak", wantDelay: scheduleAfter - time.Second},
		{name: "a deferral is scheduled, then acked", out: deferFor(time.Hour), want: "ack", wantScheduled: true},
		{name: "a deferral the scheduler refuses naks", out: deferFor(time.Hour), scheduleErr: errors.New("no leader"), want: "nak", wantDelay: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			js := &schedulingJS{err: tt.scheduleErr}
			log := logrus.New()
			log.SetOutput(io.Discard)
			w := &Worker{o: WorkerOptions{JS: js, Log: logrus.NewEntry(log)}.withDefaults()}
			m := &recordedMsg{}
			w.settle(context.Background(), w.o.Log, m, r, tt.out)
			if !slices.Equal(m.did, []string{tt.want}) || m.delay != tt.wantDelay {
				t.Errorf("did %v (delay %v), want [%s] (delay %v)", m.did, m.delay, tt.want, tt.wantDelay)
			}
			wantPublished := []string(nil)
			if tt.wantScheduled {
				wantPublished = []string{store.SchedulesPrefix + store.Token(r.ID)}
			}
			if !slices.Equal(js.published, wantPublished) {
				t.Errorf("scheduled %v, want %v", js.published, wantPublished)
			}
		})
	}
}
