package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/logging"
	"github.com/forbear/forbear/internal/metrics"
	"github.com/forbear/forbear/internal/store"
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

// WorkerOptions configure a channel worker.
type WorkerOptions struct {
	Channel  domain.Channel
	Provider channels.Provider
	// Concurrency is how many reminders are in flight at once; for voice it
	// is the number of simultaneous calls the dialer places.
	Concurrency int
	JS          jetstream.JetStream
	State       *store.State
	Fence       *Fence
	Renderer    Renderer
	Audit       *audit.Recorder
	Intake      *Intake
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
	// and records attempts; nil sends without them.
	Ledger *Ledger
	// MaxDefer bounds one wait of a deferred reminder; it is re-decided
	// when it comes back (default 1h).
	MaxDefer time.Duration
}

// Worker consumes one channel's reminders from a durable pull consumer
// shared by every instance, and runs each through the pipeline: load,
// render, fence, provider call, audit record, ack.
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
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDefer <= 0 {
		o.MaxDefer = time.Hour
	}
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

// outcome is what happens to the NATS message.
type outcome struct {
	retryIn time.Duration // > 0: nak with delay
	term    bool          // undecodable: never redeliver
	// deferFor > 0: hand the reminder to the stream's message scheduler,
	// to come back on its subject after this long, and ack it.
	deferFor time.Duration
}

// scheduleAfter is the shortest deferral handed to the server's message
// scheduler (its times have one-second resolution); shorter ones nak with
// a delay. A nak'ed message keeps its place in the consumer's ack window,
// so a night of deferred reminders in one zone would otherwise stall the
// sends to borrowers whose day has begun.
const scheduleAfter = 5 * time.Second

var ack = outcome{}

func (w *Worker) handle(base context.Context, m jetstream.Msg) {
	var r domain.Reminder
	if err := json.Unmarshal(m.Data(), &r); err != nil || r.ID == "" || r.BorrowerID == "" {
		w.o.Log.WithField("subject", m.Subject()).Error("undecodable reminder terminated")
		_ = m.Term()
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
	out := w.deliver(ctx, log, r, delivered)
	if out.deferFor > 0 {
		if err := w.schedule(ctx, m, r, out.deferFor); err != nil {
			log.WithError(err).Warn("could not schedule the deferred reminder; holding it in the consumer instead")
			out = outcome{retryIn: out.deferFor}
		}
	}
	switch {
	case out.term:
		_ = m.Term()
	case out.retryIn > 0:
		_ = m.NakWithDelay(out.retryIn)
	default:
		// A lost ack only means a redelivery, which finds the sent record
		// and does not resend: no need to wait for the server's reply.
		if err := m.Ack(); err != nil {
			log.WithError(err).Warn("ack failed; the reminder may be redelivered and will be recognised as sent")
		}
	}
}

func (w *Worker) deliver(ctx context.Context, log *logrus.Entry, r domain.Reminder, delivered uint64) outcome {
	b, err := w.o.State.Borrower(ctx, r.BorrowerID)
	if errors.Is(err, store.ErrNotFound) {
		return w.finish(ctx, log, r, domain.Failed, "unknown_borrower", "", "")
	}
	if err != nil {
		return w.retry(log, err, delivered, 0)
	}
	c, err := w.o.State.Case(ctx, r.LoanID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return w.retry(log, err, delivered, 0)
	}
	var agr *domain.Agreement
	unproven := false // the agreement's hold, not its record, says it is active
	if r.AgreementID != "" {
		var end *outcome
		if agr, unproven, end = w.agreement(ctx, log, r, delivered); end != nil {
			return *end
		}
	} else if c.LoanID == "" || !c.Open() {
		return w.finish(ctx, log, r, domain.Suppressed, "case_closed:"+c.Status, "", "")
	}
	to := Address(r.Channel, b)
	if to == "" {
		return w.finish(ctx, log, r, domain.Failed, "no_address: borrower has no "+addressKind(r.Channel), "", "")
	}

	text, err := w.o.Renderer.Render(r, b, c, agr)
	if err != nil {
		return w.finish(ctx, log, r, domain.Failed, "template: "+err.Error(), to, "")
	}
	msg := channels.Message{
		ReminderID: r.ID, BorrowerID: r.BorrowerID, LoanID: r.LoanID, Channel: r.Channel, To: to,
		Locale: text.Locale, Subject: text.Subject, Text: text.Text, HTML: text.HTML,
		Voicemail: text.Voicemail, VoicemailLocale: text.VoicemailLocale,
	}
	if r.Channel == domain.Email && w.o.UnsubscribeURL != nil {
		msg.UnsubscribeURL = w.o.UnsubscribeURL(r.BorrowerID, to)
	}
	if w.o.StatusCallback != nil {
		msg.StatusCallback = w.o.StatusCallback(r)
	}
	if delivered > 1 {
		if done, out := w.alreadySent(ctx, log, r, msg, text, delivered); done {
			return out
		}
	}
	if w.o.Ledger != nil {
		d, err := w.o.Ledger.Reserve(ctx, r, b)
		if err != nil {
			return w.retry(log, err, delivered, 0)
		}
		if !d.Allowed {
			return w.hold(ctx, log, r, to, text, d)
		}
	}

	// Fence, then call. An expired fence (a stall between the two) makes no
	// call and fences again.
	for range 5 {
		sup, validUntil, err := w.o.Fence.Check(ctx, r.BorrowerID)
		if err != nil {
			return w.retry(log, err, delivered, 0)
		}
		if block, ok := sup.Blocking(r, to, w.o.Clock.Now()); ok {
			w.outcome(ctx, log, r, OutcomeCanceled)
			return w.finishRendered(ctx, log, r, text, domain.Suppressed, block.Reason(), to, "")
		}
		if unproven && !holding(sup, r.AgreementID) {
			// The hold went after the first look: only the agreement's
			// record says whether it ended.
			if _, end := w.readAgreement(ctx, log, r, delivered); end != nil {
				w.outcome(ctx, log, r, OutcomeCanceled)
				return *end
			}
			unproven = false
		}
		start := time.Now()
		res, err := w.o.Provider.Send(channels.WithFence(ctx, validUntil), msg)
		w.o.Metrics.Provider(string(r.Channel), time.Since(start))
		if errors.Is(err, channels.ErrFenceExpired) {
			continue
		}
		if err != nil {
			w.outcome(ctx, log, r, OutcomeFailed)
			return w.providerError(ctx, log, r, to, text, err, delivered)
		}
		status := res.Status
		if status == "" {
			status = domain.Sent
		}
		return w.finishRendered(ctx, log, r, text, status, "", to, res.ProviderRef)
	}
	w.outcome(ctx, log, r, OutcomeCanceled)
	return w.retry(log, errors.New("fence kept expiring before the provider call"), delivered, 0)
}

// agreement returns an instalment reminder's agreement, or the outcome
// that ends the reminder.
//
// What the worker reads again, and what it takes from the reminder's
// snapshot, follows from what can change its decision after the sweep
// planned the reminder:
//
//   - Suppressions (mutes, opt-outs, cease, an agreement's hold on
//     collection reminders): through the fence, just before the call.
//   - The contact ledger (caps, windows, conversations): by
//     compare-and-set in Ledger.Reserve.
//   - The borrower: read again. Its phone or email may have changed (the
//     reminder would go to the old address), and so may what the contact
//     rules decide with (time zone, blackouts, phone kind, the us-regf
//     check that the number is still the borrower's, consents); none of
//     that reaches the suppressions the fence sees.
//   - A loan reminder's case: read again. A case paid or written off after
//     the plan must not get the reminder (case_closed), and closing a
//     case writes no suppression.
//   - An instalment reminder's agreement: its status is the only part
//     that can change the decision, and an active agreement holds a hold
//     in the borrower's suppressions from before its record says active
//     until after its record says ended (Intake.activate, endAgreement).
//     So while the watcher's view has the hold, the agreement is not read
//     and the reminder renders from the snapshot; the fence's view must
//     have the hold too (unproven), else the record is read then. Without
//     the hold (ended, or held by no suppression) or without a snapshot (a
//     reminder queued before snapshots), the record is read as before.
//
// An instalment reminder's case is still read for its figures (the sweep
// plans an agreement without reading its loans).
func (w *Worker) agreement(ctx context.Context, log *logrus.Entry, r domain.Reminder, delivered uint64) (agr *domain.Agreement, unproven bool, end *outcome) {
	if s := r.Snapshot; s != nil && s.Agreement != nil && s.Agreement.ID == r.AgreementID &&
		holding(w.o.Fence.Cached(r.BorrowerID), r.AgreementID) {
		a := s.Agreement.Agreement()
		return &a, true, nil
	}
	agr, end = w.readAgreement(ctx, log, r, delivered)
	return agr, false, end
}

// readAgreement reads an instalment reminder's agreement: an agreement
// that is missing or no longer active ends the reminder.
func (w *Worker) readAgreement(ctx context.Context, log *logrus.Entry, r domain.Reminder, delivered uint64) (*domain.Agreement, *outcome) {
	a, err := w.o.State.Agreement(ctx, r.AgreementID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		out := w.retry(log, err, delivered, 0)
		return nil, &out
	}
	if err != nil || a.Status != domain.AgreementActive {
		out := w.finish(ctx, log, r, domain.Suppressed, "agreement_ended:"+r.AgreementID, "", "")
		return nil, &out
	}
	return &a, nil
}

// holding reports whether sup holds an active agreement's hold.
func holding(sup domain.Suppressions, agreementID string) bool {
	return slices.ContainsFunc(sup.Holds, func(h domain.Hold) bool { return h.AgreementID == agreementID })
}

// hold records a compliance decision that stops the reminder now: capped
// ones end, deferred ones come back when the window opens (at most MaxDefer
// later, to be decided again). A deferral is recorded once per reason, not
// at every return.
func (w *Worker) hold(ctx context.Context, log *logrus.Entry, r domain.Reminder, to string, text Rendered, d compliance.Decision) outcome {
	w.o.Metrics.Compliance(d.Rule, string(d.Status), d.Pack, d.Citation)
	// The engine's reason starts with its rule and the rule's source
	// ("cap[us-regf 12 CFR 1006.14(b)(2)(i)]: ...").
	reason := d.Reason
	if d.Status != domain.Deferred {
		return w.finishRendered(ctx, log, r, text, d.Status, reason, to, "")
	}
	// Any replica may answer this look-up: one that has not yet applied
	// the previous deferral only makes the same line appear twice.
	if prev, found, err := w.o.Audit.Find(ctx, r.BorrowerID, r.ID, domain.Deferred); err != nil || !found || prev.Reason != reason {
		if out := w.finishRendered(ctx, log, r, text, domain.Deferred, reason, to, ""); out.retryIn > 0 {
			return out
		}
	}
	wait := min(max(d.Until.Sub(w.o.Clock.Now()), time.Second), w.o.MaxDefer)
	if wait >= scheduleAfter {
		return outcome{deferFor: wait}
	}
	return outcome{retryIn: wait}
}

// schedule publishes the reminder to the stream's message scheduler, which
// puts it back on its own subject after d (a new delivery, decided again
// then). The schedule's subject is unique to the reminder, so a repeat
// replaces rather than adds.
func (w *Worker) schedule(ctx context.Context, m jetstream.Msg, r domain.Reminder, d time.Duration) error {
	// Whole seconds, rounded up: the scheduler's times have one-second
	// resolution and must not fire early.
	at := time.Now().Add(d).Truncate(time.Second).Add(time.Second)
	_, err := w.o.JS.PublishMsg(ctx, &nats.Msg{Subject: store.SchedulesPrefix + store.Token(r.ID), Data: m.Data()},
		jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(m.Subject()))
	return err
}

// outcome notes how an attempt ended in the ledger, so a failed or
// cancelled one does not count toward a cap.
func (w *Worker) outcome(ctx context.Context, log *logrus.Entry, r domain.Reminder, outcome string) {
	if w.o.Ledger == nil {
		return
	}
	if err := w.o.Ledger.Outcome(ctx, r.BorrowerID, r.ID, outcome); err != nil {
		log.WithError(err).Warn("ledger outcome not recorded")
	}
}

// alreadySent looks, before resending a redelivered reminder, whether an
// earlier attempt got through: first the audit trail (the sent record,
// written before the ack, is the record of a finished send), then, when the
// ledger holds an attempt of the reminder (reserved just before the
// provider call), the provider itself, given the attempt's time (a worker
// may have died after the call, before the record).
func (w *Worker) alreadySent(ctx context.Context, log *logrus.Entry, r domain.Reminder, msg channels.Message, text Rendered, delivered uint64) (bool, outcome) {
	// From the stream leader: the sent record may have been written a
	// moment ago by another instance, and for email it is the only guard
	// against a second send.
	if d, found, err := w.o.Audit.FindOnLeader(ctx, r.BorrowerID, r.ID, domain.Sent, domain.Delivered); err != nil {
		log.WithError(err).Warn("audit look-up failed; asking the provider")
	} else if found {
		log.WithField("provider_ref", d.ProviderRef).Info("redelivered reminder was already sent; not resending")
		return true, ack
	}
	l, ok := w.o.Provider.(channels.Looker)
	if !ok {
		return false, ack
	}
	if w.o.Ledger != nil {
		// The attempt is reserved in the ledger just before the provider
		// call. No attempt: the earlier delivery never reached the call (it
		// was deferred, say), so there is nothing to find. Canceled: the
		// worker itself stopped it before the call (the fence). Any other
		// outcome may follow a call the provider accepted: "failed" after a
		// network error whose request got through, or a status callback
		// ("busy", "no-answer") that arrived before this redelivery.
		a, found, err := w.o.Ledger.Attempt(ctx, r.BorrowerID, r.ID)
		if err != nil {
			// Without the attempt record a provider matching by time
			// (voice) cannot look; retry rather than risk a second call.
			return true, w.retry(log, err, delivered, 0)
		}
		if !found || a.Outcome == OutcomeCanceled {
			return false, ack
		}
		// The provider's clock is the wall clock: compare with when the
		// attempt really started (older records only have At).
		msg.AttemptedAt = a.Started
		if msg.AttemptedAt.IsZero() {
			msg.AttemptedAt = a.At
		}
	}
	// What the provider has for other reminders is not this one's: without
	// knowing that, a look-up could take the step's previous occurrence
	// (same text, same number, moments earlier) for this one, and this
	// one would never be sent.
	claimed, err := w.o.Audit.Claimed(ctx, r.BorrowerID, r.Channel, r.ID)
	if err != nil {
		return true, w.retry(log, err, delivered, 0)
	}
	msg.Claimed = claimed
	res, found, err := l.Lookup(ctx, msg)
	if err != nil {
		log.WithError(err).Warn("provider lookup failed; resending")
		return false, ack
	}
	if !found {
		return false, ack
	}
	log.Info("provider already has the redelivered reminder; not resending")
	status := res.Status
	if status == "" {
		status = domain.Sent
	}
	return true, w.finishRendered(ctx, log, r, text, status, "found at provider after redelivery", msg.To, res.ProviderRef)
}

func (w *Worker) providerError(ctx context.Context, log *logrus.Entry, r domain.Reminder, to string, text Rendered, err error, delivered uint64) outcome {
	var pe *channels.Error
	errors.As(err, &pe)
	code := ""
	if pe != nil {
		code = pe.Code
	}
	switch channels.Classify(err) {
	case channels.Permanent:
		return w.finishRendered(ctx, log, r, text, domain.Failed, "provider_error "+code+": "+err.Error(), to, "")
	case channels.OptedOut:
		o := domain.OptOut{Channel: r.Channel, Address: to, Source: "provider " + code, At: w.o.Clock.Now()}
		if err := w.o.Intake.AddOptOut(ctx, r.BorrowerID, o); err != nil {
			return w.retry(log, err, delivered, 0)
		}
		return w.finishRendered(ctx, log, r, text, domain.Failed, "opted_out: recipient opted out ("+code+"); suppression recorded", to, "")
	default:
		var after time.Duration
		if pe != nil {
			after = pe.RetryAfter
		}
		return w.retry(log, err, delivered, after)
	}
}

// retry hands the reminder back with exponential backoff (1s, 2s, 4s ...
// capped at 5 min), or the provider's Retry-After when longer.
func (w *Worker) retry(log *logrus.Entry, err error, delivered uint64, after time.Duration) outcome {
	d := time.Second << min(delivered-1, 8)
	d = min(d, 5*time.Minute)
	d = max(d, after)
	log.WithField("error", logging.Scrub(err.Error())).WithField("retry_in", d.String()).Warn("send failed; will retry")
	return outcome{retryIn: d}
}

// finish records a decision taken before the reminder was rendered.
func (w *Worker) finish(ctx context.Context, log *logrus.Entry, r domain.Reminder, status domain.Status, reason, to, ref string) outcome {
	return w.record(ctx, log, r, nil, status, reason, to, ref)
}

// finishRendered records a decision taken after rendering: the record
// carries the message as the borrower got it, or would have, and the
// template version it came from.
func (w *Worker) finishRendered(ctx context.Context, log *logrus.Entry, r domain.Reminder, text Rendered, status domain.Status, reason, to, ref string) outcome {
	return w.record(ctx, log, r, &text, status, reason, to, ref)
}

func (w *Worker) record(ctx context.Context, log *logrus.Entry, r domain.Reminder, text *Rendered, status domain.Status, reason, to, ref string) outcome {
	d := domain.NewDelivery(r, status, w.o.Clock.Now())
	d.Reason, d.To, d.ProviderRef = reason, to, ref
	if text != nil {
		d.TemplateVersion = text.Version
		d.SetText(text.Subject, text.Text)
	}
	if err := w.o.Audit.Record(ctx, d); err != nil {
		// The decision stands; without its record we retry so it is not lost.
		return w.retry(log, err, 1, 0)
	}
	w.o.Metrics.Delivery(string(r.Channel), string(status))
	entry := log.WithFields(logrus.Fields{"status": string(status), "to": logging.Address(to)})
	if reason != "" {
		entry = entry.WithField("reason", logging.Scrub(reason))
	}
	if status == domain.Sent || status == domain.Delivered {
		entry.Debug("reminder " + string(status))
	} else {
		entry.Info("reminder " + string(status))
	}
	return ack
}

// Address is where a reminder on channel ch goes for borrower b: the
// borrower's own phone or email, or the borrower's inbox; "" when the
// borrower has none.
func Address(ch domain.Channel, b domain.Borrower) string {
	switch ch {
	case domain.SMS, domain.Voice:
		return b.Phone
	case domain.Email:
		return b.Email
	case domain.InApp:
		return b.ID
	}
	return ""
}

func addressKind(ch domain.Channel) string {
	if ch == domain.Email {
		return "email"
	}
	return "phone"
}
