package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/ground/store"
)

// Rendered is a reminder's text for one borrower.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	Locale  string
	Version int
	// Voicemail is what a call leaves on an answering machine, in
	// VoicemailLocale (voice reminders whose template has one).
	Voicemail       string
	VoicemailLocale string
}

// Renderer renders a reminder's template for its borrower and case.
type Renderer interface {
	Render(r domain.Reminder, b domain.Borrower, c domain.Case, a *domain.Agreement) (Rendered, error)
}

// What a worker reads and writes besides the provider, each behind the
// few methods the delivery pipeline uses, so that its decisions can be
// driven without NATS. The production implementation is named on each.

// ReminderState is the stored state a reminder is about (*store.State).
type ReminderState interface {
	Borrower(ctx context.Context, id string) (domain.Borrower, error)
	Case(ctx context.Context, loanID string) (domain.Case, error)
	Agreement(ctx context.Context, id string) (domain.Agreement, error)
}

// SuppressionView is a borrower's suppressions as the worker sees them
// (*suppress.Fence): Check is the send-time fence, valid until
// validUntil; Cached is the watched copy, with no proof of freshness.
type SuppressionView interface {
	Check(ctx context.Context, borrowerID string) (sup domain.Suppressions, validUntil time.Time, err error)
	Cached(borrowerID string) domain.Suppressions
}

// AttemptLedger is the contact ledger (*Ledger): the compliance decision
// and attempt reservation in one compare-and-set, the attempt record a
// redelivery looks at, and how an attempt ended.
type AttemptLedger interface {
	Reserve(ctx context.Context, rem domain.Reminder, b domain.Borrower) (compliance.Decision, error)
	Attempt(ctx context.Context, borrowerID, id string) (compliance.Attempt, bool, error)
	Outcome(ctx context.Context, borrowerID, attemptID, outcome string) error
}

// DeliveryRecords is the audit trail (*audit.Recorder): the worker writes a
// record of every decision, and looks back at it before resending.
type DeliveryRecords interface {
	Record(ctx context.Context, d domain.Delivery) error
	Find(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error)
	FindOnLeader(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error)
	Claimed(ctx context.Context, borrowerID string, channel domain.Channel, exceptID string) ([]string, error)
}

// OptOutRecorder records an opt-out a provider reported (*intake.Intake).
type OptOutRecorder interface {
	AddOptOut(ctx context.Context, borrowerID string, o domain.OptOut) error
}

// WorkerOptions configure a channel worker.
type WorkerOptions struct {
	Channel  domain.Channel
	Provider channels.Provider
	// Concurrency is how many reminders are in flight at once; for voice it
	// is the number of simultaneous calls the dialer places.
	Concurrency int
	JS          jetstream.JetStream
	State       ReminderState
	Fence       SuppressionView
	Renderer    Renderer
	Audit       DeliveryRecords
	Intake      OptOutRecorder
	Metrics     *metrics.Metrics
	Clock       clock.Clock
	Log         *logrus.Entry
	// AckWait before NATS hands a reminder to another worker.
	AckWait time.Duration
	// MaxDeliver bounds attempts; 0 retries until sent.
	MaxDeliver int
	// UnsubscribeURL, if set, gives the email unsubscribe link.
	UnsubscribeURL func(borrowerID, address string) string
	// StatusCallback, if set, gives the provider status-callback URL of a
	// reminder (Twilio reports call and message outcomes there).
	StatusCallback func(r domain.Reminder) string
	// Ledger applies the compliance rules (windows, caps, conversations)
	// and records attempts; nil (not a nil *Ledger) sends without them.
	Ledger AttemptLedger
	// MaxDefer bounds one wait of a deferred reminder; it is re-decided
	// when it comes back (default 1h).
	MaxDefer time.Duration
}

// withDefaults fills what was left zero.
func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDefer <= 0 {
		o.MaxDefer = time.Hour
	}
	return o
}

// Worker consumes one channel's reminders from a durable pull consumer
// shared by every instance, and runs each through the delivery pipeline
// (deliver); what the pipeline decides becomes the message's ack, nak or
// schedule in one place (settle).
type Worker struct {
	o        WorkerOptions
	cons     jetstream.Consumer
	iter     jetstream.MessagesContext
	inflight sync.WaitGroup
	done     chan struct{}
}

// ConsumerName is the durable consumer of a channel's reminders.
func ConsumerName(ch domain.Channel) string { return "forbear-" + string(ch) }

// NewWorker creates (or updates) the channel's consumer.
func NewWorker(ctx context.Context, o WorkerOptions) (*Worker, error) {
	o = o.withDefaults()
	cfg := jetstream.ConsumerConfig{
		Durable:       ConsumerName(o.Channel),
		FilterSubject: store.RemindersPrefix + string(o.Channel) + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    -1,
		// Sized to this channel's pace so prefetched reminders do not age
		// toward AckWait (redelivery storms); the voice queue is exactly its
		// dialer slots.
		MaxAckPending: o.Concurrency * 4,
	}
	if o.MaxDeliver > 0 {
		cfg.MaxDeliver = o.MaxDeliver
	}
	if o.Channel == domain.Voice {
		cfg.MaxAckPending = o.Concurrency * 2
	}
	cons, err := o.JS.CreateOrUpdateConsumer(ctx, store.RemindersStream, cfg)
	if err != nil {
		return nil, fmt.Errorf("worker %s: consumer: %w", o.Channel, err)
	}
	return &Worker{o: o, cons: cons, done: make(chan struct{})}, nil
}

// Start begins consuming. Work runs on base, which should outlive Stop's
// call so that in-flight sends can finish.
func (w *Worker) Start(base context.Context) error {
	it, err := w.cons.Messages(jetstream.PullMaxMessages(w.o.Concurrency))
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.o.Channel, err)
	}
	w.iter = it
	slots := make(chan struct{}, w.o.Concurrency)
	go func() {
		defer close(w.done)
		stopping := false
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return
				}
				w.o.Log.WithError(err).Warn("reminder consumer error")
				continue
			}
			select {
			case <-base.Done():
				stopping = true
			default:
			}
			if stopping {
				_ = m.Nak() // hand it back to another worker
				continue
			}
			slots <- struct{}{}
			w.inflight.Add(1)
			go func() {
				defer func() { <-slots; w.inflight.Done() }()
				w.handle(base, m)
			}()
		}
	}()
	return nil
}

// Stop stops taking reminders, hands back the ones not started (nak) and
// waits for in-flight ones until ctx ends.
func (w *Worker) Stop(ctx context.Context) error {
	if w.iter == nil {
		return nil
	}
	w.iter.Drain()
	finished := make(chan struct{})
	go func() { <-w.done; w.inflight.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker %s: stop: %w", w.o.Channel, ctx.Err())
	}
}

// handle decodes one message, runs its reminder through the pipeline and
// settles the message as the pipeline decided.
func (w *Worker) handle(base context.Context, m jetstream.Msg) {
	r, ok := decodeReminder(m.Data())
	if !ok {
		w.settle(base, w.o.Log.WithField("subject", m.Subject()), m, r, drop("undecodable reminder"))
		return
	}
	delivered := uint64(1)
	if meta, err := m.Metadata(); err == nil {
		delivered = meta.NumDelivered
	}
	// A send may not outlive the ack wait: after it NATS redelivers.
	ctx, cancel := context.WithTimeout(base, w.o.AckWait-time.Second)
	defer cancel()
	log := w.o.Log.WithFields(logrus.Fields{
		logging.FieldBorrower: r.BorrowerID, logging.FieldLoan: r.LoanID,
		logging.FieldChannel: string(r.Channel), logging.FieldStep: r.Step, logging.FieldMsg: r.ID,
	})
	w.settle(ctx, log, m, r, w.deliver(ctx, job{r: r, delivered: delivered, log: log}))
}

// decodeReminder reads a reminder message; one without an id or a
// borrower can never be delivered.
func decodeReminder(data []byte) (domain.Reminder, bool) {
	var r domain.Reminder
	if err := json.Unmarshal(data, &r); err != nil || r.ID == "" || r.BorrowerID == "" {
		return domain.Reminder{}, false
	}
	return r, true
}
