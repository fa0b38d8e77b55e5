package dispatcher

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Fakes for the worker's decisions, driven without NATS: each storage
// interface the pipeline reads and writes is filled with a map.

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
// a minute, or with err. The watched view (Cached) is sup too, unless
// watched is set: a view that lags behind the fence's.
type mapFence struct {
	sup     map[string]domain.Suppressions
	watched map[string]domain.Suppressions
	err     error
}

func (f *mapFence) Check(_ context.Context, borrowerID string) (domain.Suppressions, time.Time, error) {
	if f.err != nil {
		return domain.Suppressions{}, time.Time{}, f.err
	}
	return f.sup[borrowerID], time.Now().Add(time.Minute), nil
}

func (f *mapFence) Cached(borrowerID string) domain.Suppressions {
	if f.watched != nil {
		return f.watched[borrowerID]
	}
	return f.sup[borrowerID]
}

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
// and Lookup with found; it counts the calls that started, and keeps where
// the last one went.
type scriptedProvider struct {
	mu    sync.Mutex
	errs  []error
	found bool
	sends int
	to    string
}

func (p *scriptedProvider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if err := channels.BeginCall(ctx); err != nil {
		return channels.Result{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sends++
	p.to = msg.To
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

func (p *scriptedProvider) lastTo() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.to
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
