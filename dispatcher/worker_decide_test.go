package dispatcher

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/metrics"
	"github.com/forbear/forbear/internal/store"
)

// The worker's decisions, driven without NATS: each storage interface the
// pipeline reads and writes is filled with a map.

type mapState struct {
	borrowers  map[string]domain.Borrower
	cases      map[string]domain.Case
	agreements map[string]domain.Agreement
}

func (s *mapState) Borrower(_ context.Context, id string) (domain.Borrower, error) {
	return lookup(s.borrowers, id)
}

func (s *mapState) Case(_ context.Context, id string) (domain.Case, error) {
	return lookup(s.cases, id)
}

func (s *mapState) Agreement(_ context.Context, id string) (domain.Agreement, error) {
	return lookup(s.agreements, id)
}

func lookup[T any](m map[string]T, id string) (T, error) {
	v, ok := m[id]
	if !ok {
		return v, store.ErrNotFound
	}
	return v, nil
}

// mapFence answers every check with the borrower's suppressions, valid for
// a minute, or with err.
type mapFence struct {
	sup map[string]domain.Suppressions
	err error
}

func (f *mapFence) Check(_ context.Context, borrowerID string) (domain.Suppressions, time.Time, error) {
	if f.err != nil {
		return domain.Suppressions{}, time.Time{}, f.err
	}
	return f.sup[borrowerID], time.Now().Add(time.Minute), nil
}

func (f *mapFence) Cached(borrowerID string) domain.Suppressions { return f.sup[borrowerID] }

// mapLedger decides with decision (allowed when nil) and keeps attempts by
// reminder id.
type mapLedger struct {
	mu       sync.Mutex
	decision *compliance.Decision
	attempts map[string]compliance.Attempt
}

func (l *mapLedger) Reserve(_ context.Context, r domain.Reminder, _ domain.Borrower) (compliance.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.decision != nil {
		return *l.decision, nil
	}
	l.attempts[r.ID] = compliance.Attempt{ID: r.ID, Channel: r.Channel, LoanID: r.LoanID, Outcome: OutcomePending, Started: time.Now()}
	return compliance.Decision{Allowed: true}, nil
}

func (l *mapLedger) Attempt(_ context.Context, _, id string) (compliance.Attempt, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.attempts[id]
	return a, ok, nil
}

func (l *mapLedger) Outcome(_ context.Context, _, id, outcome string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.attempts[id]; ok {
		a.Outcome = outcome
		l.attempts[id] = a
	}
	return nil
}

func (l *mapLedger) outcome(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attempts[id].Outcome
}

// listRecords is the audit trail as a list.
type listRecords struct {
	mu      sync.Mutex
	records []domain.Delivery
}

func (a *listRecords) Record(_ context.Context, d domain.Delivery) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, d)
	return nil
}

func (a *listRecords) Find(_ context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range slices.Backward(a.records) {
		if d.BorrowerID == borrowerID && d.ID == id && slices.Contains(statuses, d.Status) {
			return d, true, nil
		}
	}
	return domain.Delivery{}, false, nil
}

func (a *listRecords) FindOnLeader(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error) {
	return a.Find(ctx, borrowerID, id, statuses...)
}

func (a *listRecords) Claimed(_ context.Context, borrowerID string, ch domain.Channel, exceptID string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var refs []string
	for _, d := range a.records {
		if d.BorrowerID == borrowerID && d.Channel == ch && d.ID != exceptID && d.ProviderRef != "" {
			refs = append(refs, d.ProviderRef)
		}
	}
	return refs, nil
}

func (a *listRecords) list() []domain.Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.records)
}

type listOptOuts struct {
	mu   sync.Mutex
	list []domain.OptOut
}

func (o *listOptOuts) AddOptOut(_ context.Context, _ string, opt domain.OptOut) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, opt)
	return nil
}

// scriptedProvider answers each Send with the next of errs (nil: accepted)
// and Lookup with found; it counts the calls that started.
type scriptedProvider struct {
	mu    sync.Mutex
	errs  []error
	found bool
	sends int
}

func (p *scriptedProvider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if err := channels.BeginCall(ctx); err != nil {
		return channels.Result{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sends++
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		if err != nil {
			return channels.Result{}, err
		}
	}
	return channels.Result{ProviderRef: "SM-" + msg.ReminderID, Status: domain.Sent}, nil
}

func (p *scriptedProvider) Lookup(context.Context, channels.Message) (channels.Result, bool, error) {
	if !p.found {
		return channels.Result{}, false, nil
	}
	return channels.Result{ProviderRef: "SM-earlier"}, true, nil
}

func (p *scriptedProvider) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sends
}

type plainRenderer struct{}

func (plainRenderer) Render(r domain.Reminder, b domain.Borrower, _ domain.Case, _ *domain.Agreement) (Rendered, error) {
	return Rendered{Text: "Dear " + b.Name + ", step " + r.Step, Locale: "en-US", Version: 3}, nil
}

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

// recordedMsg is a JetStream message that remembers what was done to it.
type recordedMsg struct {
	jetstream.Msg // not called: every method the worker uses is below
	mu            sync.Mutex
	did           []string
	delay         time.Duration
}

func (m *recordedMsg) note(what string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.did = append(m.did, what)
	return nil
}

func (m *recordedMsg) Data() []byte    { return []byte(`{}`) }
func (m *recordedMsg) Subject() string { return "forbear.reminders.sms.b-1" }
func (m *recordedMsg) Ack() error      { return m.note("ack") }
func (m *recordedMsg) Term() error     { return m.note("term") }
func (m *recordedMsg) NakWithDelay(d time.Duration) error {
	m.delay = d
	return m.note("nak")
}

// schedulingJS is a JetStream whose message scheduler takes a publish, or
// refuses it with err.
type schedulingJS struct {
	jetstream.JetStream // not called: only PublishMsg is
	err                 error
	published           []string
}

func (js *schedulingJS) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if js.err != nil {
		return nil, js.err
	}
	js.published = append(js.published, m.Subject)
	return &jetstream.PubAck{}, nil
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
