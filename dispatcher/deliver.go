package dispatcher

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// job is one delivery of a reminder to this worker.
type job struct {
	r         domain.Reminder
	delivered uint64 // NATS's count: 1 the first time, more on redelivery
	log       *logrus.Entry
}

// retry hands the job's reminder back after err (see retryAfter).
func (j job) retry(err error, after time.Duration) outcome {
	return retryAfter(j.log, err, j.delivered, after)
}

// loaded is what a reminder is about, as read at send time (see
// Worker.agreement for what is read again and why).
type loaded struct {
	borrower  domain.Borrower
	loan      domain.Case
	agreement *domain.Agreement // instalment reminders
	// unproven: the agreement's hold in the watched suppressions, not its
	// record, says it is active; the fence's view must have the hold too.
	unproven bool
	// copied: the borrower (and a loan reminder's case) come from the
	// reminder's snapshot, which the watched view did not outdate; the
	// fence's view must not outdate it either.
	copied bool
	to     string // the borrower's address on the reminder's channel
}

// maxFenceRounds bounds how often one delivery fences again after its
// fence expired between the check and the provider call.
const maxFenceRounds = 5

// deliver runs one reminder through the pipeline, top to bottom. Each step
// returns what it found and an outcome; the first decided outcome ends the
// reminder, and settle acts on it.
func (w *Worker) deliver(ctx context.Context, j job) outcome {
	in, out := w.load(ctx, j)
	if out.decided() {
		return out
	}
	text, msg, out := w.render(ctx, j, in)
	if out.decided() {
		return out
	}
	if j.delivered > 1 {
		if out := w.alreadySent(ctx, j, msg, text); out.decided() {
			return out
		}
	}
	if out := w.reserve(ctx, j, in, text); out.decided() {
		return out
	}
	// Fence, then call. An expired fence (a stall between the two) makes no
	// call and fences again.
	for range maxFenceRounds {
		validUntil, out := w.fence(ctx, j, &in, text)
		if out.decided() {
			return out
		}
		res, err := w.call(ctx, validUntil, msg)
		if errors.Is(err, channels.ErrFenceExpired) {
			continue
		}
		return w.sent(ctx, j, in.to, text, res, err)
	}
	w.noteAttempt(ctx, j, OutcomeCanceled)
	return j.retry(errors.New("fence kept expiring before the provider call"), 0)
}

// load takes the borrower and the case from the reminder's snapshot, or
// reads them when the watched view of the suppressions outdates it (see
// Worker.agreement for what can change after the sweep), then an
// instalment reminder's agreement, and finds the borrower's address: a
// reminder with no one or nothing left to send to ends here.
func (w *Worker) load(ctx context.Context, j job) (loaded, outcome) {
	r := j.r
	var in loaded
	var err error
	if s := r.Snapshot; !w.o.Fence.Cached(r.BorrowerID).Outdates(r, w.o.Clock.Now()) {
		in.borrower, in.copied = *s.Borrower, true
		if s.Case != nil {
			in.loan = *s.Case
		}
	} else if in.borrower, err = w.o.State.Borrower(ctx, r.BorrowerID); errors.Is(err, store.ErrNotFound) {
		return in, w.finish(ctx, j, domain.Failed, "unknown_borrower", "", "")
	} else if err != nil {
		return in, j.retry(err, 0)
	}
	if !in.copied || r.Snapshot.Case == nil {
		in.loan, err = w.o.State.Case(ctx, r.LoanID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return in, j.retry(err, 0)
		}
	}
	if r.AgreementID != "" {
		var out outcome
		if in.agreement, in.unproven, out = w.agreement(ctx, j); out.decided() {
			return in, out
		}
	} else if in.loan.LoanID == "" || !in.loan.Open() {
		return in, w.finish(ctx, j, domain.Suppressed, "case_closed:"+in.loan.Status, "", "")
	}
	in.to = Address(r.Channel, in.borrower)
	if in.to == "" {
		return in, w.finish(ctx, j, domain.Failed, "no_address: borrower has no "+addressKind(r.Channel), "", "")
	}
	return in, proceed
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
//   - The borrower and a loan reminder's case: from the snapshot. Its
//     phone or email may have changed since (the reminder would go to the
//     old address), and so may what the contact rules decide with (time
//     zone, blackouts, phone kind, the us-regf check that the number is
//     still the borrower's, consents), or the case may be paid or written
//     off (case_closed). So intake notes every such change, after writing
//     it, in the borrower's suppressions (intake.Intake.noteChange), and a
//     snapshot that the watched view outdates is not used: the records
//     are read. The fence's view must not outdate it either (copied),
//     else the reminder goes back to be read afresh. A snapshot older
//     than domain.SnapshotMaxAge is not used at all.
//   - An instalment reminder's agreement: its status is the only part
//     that can change the decision, and an active agreement holds a hold
//     in the borrower's suppressions from before its record says active
//     until after its record says ended (intake.Intake.activate,
//     endAgreement). So while the watcher's view has the hold, the
//     agreement is not read and the reminder renders from the snapshot;
//     the fence's view must have the hold too (unproven), else the record
//     is read then. Without the hold (ended, or held by no suppression) or
//     without a snapshot (a reminder queued before snapshots), the record
//     is read as before.
//
// An instalment reminder's case is still read for its figures (the sweep
// plans an agreement without reading its loans).
func (w *Worker) agreement(ctx context.Context, j job) (agr *domain.Agreement, unproven bool, out outcome) {
	r := j.r
	if s := r.Snapshot; s != nil && s.Agreement != nil && s.Agreement.ID == r.AgreementID &&
		holding(w.o.Fence.Cached(r.BorrowerID), r.AgreementID) {
		a := s.Agreement.Agreement()
		return &a, true, proceed
	}
	agr, out = w.readAgreement(ctx, j)
	return agr, false, out
}

// readAgreement reads an instalment reminder's agreement: an agreement
// that is missing or no longer active ends the reminder.
func (w *Worker) readAgreement(ctx context.Context, j job) (*domain.Agreement, outcome) {
	a, err := w.o.State.Agreement(ctx, j.r.AgreementID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, j.retry(err, 0)
	}
	if err != nil || a.Status != domain.AgreementActive {
		return nil, w.finish(ctx, j, domain.Suppressed, "agreement_ended:"+j.r.AgreementID, "", "")
	}
	return &a, proceed
}

// holding reports whether sup holds an active agreement's hold.
func holding(sup domain.Suppressions, agreementID string) bool {
	return slices.ContainsFunc(sup.Holds, func(h domain.Hold) bool { return h.AgreementID == agreementID })
}

// render renders the reminder and builds the provider's message; a
// template that fails ends the reminder.
func (w *Worker) render(ctx context.Context, j job, in loaded) (Rendered, channels.Message, outcome) {
	r := j.r
	text, err := w.o.Renderer.Render(r, in.borrower, in.loan, in.agreement)
	if err != nil {
		return text, channels.Message{}, w.finish(ctx, j, domain.Failed, "template: "+err.Error(), in.to, "")
	}
	msg := channels.Message{
		ReminderID: r.ID, BorrowerID: r.BorrowerID, LoanID: r.LoanID, Channel: r.Channel, To: in.to,
		Locale: text.Locale, Subject: text.Subject, Text: text.Text, HTML: text.HTML,
		Voicemail: text.Voicemail, VoicemailLocale: text.VoicemailLocale,
	}
	if r.Channel == domain.Email && w.o.UnsubscribeURL != nil {
		msg.UnsubscribeURL = w.o.UnsubscribeURL(r.BorrowerID, in.to)
	}
	if w.o.StatusCallback != nil {
		msg.StatusCallback = w.o.StatusCallback(r)
	}
	return text, msg, proceed
}

// reserve decides the reminder under the compliance rules and, when it
// may go, reserves its attempt in the ledger (the attempt record a
// redelivery looks at).
func (w *Worker) reserve(ctx context.Context, j job, in loaded, text Rendered) outcome {
	if w.o.Ledger == nil {
		return proceed
	}
	d, err := w.o.Ledger.Reserve(ctx, j.r, in.borrower)
	if err != nil {
		return j.retry(err, 0)
	}
	if !d.Allowed {
		return w.hold(ctx, j, in.to, text, d)
	}
	return proceed
}

// hold records a compliance decision that stops the reminder now: capped
// ones end, deferred ones come back when the window opens (at most MaxDefer
// later, to be decided again). A deferral is recorded once per reason, not
// at every return.
func (w *Worker) hold(ctx context.Context, j job, to string, text Rendered, d compliance.Decision) outcome {
	w.o.Metrics.Compliance(d.Rule, string(d.Status), d.Pack, d.Citation)
	// The engine's reason starts with its rule and the rule's source
	// ("cap[us-regf 12 CFR 1006.14(b)(2)(i)]: ...").
	reason := d.Reason
	if d.Status != domain.Deferred {
		return w.finishRendered(ctx, j, text, d.Status, reason, to, "")
	}
	// Any replica may answer this look-up: one that has not yet applied
	// the previous deferral only makes the same line appear twice.
	if prev, found, err := w.o.Audit.Find(ctx, j.r.BorrowerID, j.r.ID, domain.Deferred); err != nil || !found || prev.Reason != reason {
		if out := w.finishRendered(ctx, j, text, domain.Deferred, reason, to, ""); out.kind == retry {
			return out
		}
	}
	return deferFor(min(max(d.Until.Sub(w.o.Clock.Now()), time.Second), w.o.MaxDefer))
}

// fence checks the borrower's suppressions through the send-time fence:
// a suppression that blocks the reminder ends it; otherwise the provider
// call may start until validUntil. An unproven agreement whose hold the
// fence's view lacks is read from its record, once (in.unproven is then
// cleared).
func (w *Worker) fence(ctx context.Context, j job, in *loaded, text Rendered) (validUntil time.Time, out outcome) {
	r := j.r
	sup, validUntil, err := w.o.Fence.Check(ctx, r.BorrowerID)
	if err != nil {
		return validUntil, j.retry(err, 0)
	}
	if block, ok := sup.Blocking(r, in.to, w.o.Clock.Now()); ok {
		w.noteAttempt(ctx, j, OutcomeCanceled)
		return validUntil, w.finishRendered(ctx, j, text, domain.Suppressed, block.Reason(), in.to, "")
	}
	if in.copied && sup.Outdates(r, w.o.Clock.Now()) {
		// A change the watched view did not have yet when the reminder
		// was loaded. This fence round put it there, so the redelivery,
		// at once, reads the records: no failure, and no backoff.
		w.noteAttempt(ctx, j, OutcomeCanceled)
		j.log.Info("the borrower or the case changed after the reminder was planned; reading them again")
		return validUntil, retryIn(0)
	}
	if in.unproven && !holding(sup, r.AgreementID) {
		// The hold went after the first look: only the agreement's record
		// says whether it ended.
		if _, out := w.readAgreement(ctx, j); out.decided() {
			w.noteAttempt(ctx, j, OutcomeCanceled)
			return validUntil, out
		}
		in.unproven = false
	}
	return validUntil, proceed
}

// call sends msg through the provider, allowed to start until validUntil.
func (w *Worker) call(ctx context.Context, validUntil time.Time, msg channels.Message) (channels.Result, error) {
	start := time.Now()
	res, err := w.o.Provider.Send(channels.WithFence(ctx, validUntil), msg)
	w.o.Metrics.Provider(string(msg.Channel), time.Since(start))
	return res, err
}

// sent records what the provider call did: the provider's status, or the
// failure (see providerError).
func (w *Worker) sent(ctx context.Context, j job, to string, text Rendered, res channels.Result, err error) outcome {
	if err != nil {
		w.noteAttempt(ctx, j, OutcomeFailed)
		return w.providerError(ctx, j, to, text, err)
	}
	status := res.Status
	if status == "" {
		status = domain.Sent
	}
	return w.finishRendered(ctx, j, text, status, "", to, res.ProviderRef)
}

// providerError ends or retries a reminder the provider refused: a
// permanent error fails it, an opt-out records the suppression and fails
// it, anything else retries (after the provider's Retry-After, if longer).
func (w *Worker) providerError(ctx context.Context, j job, to string, text Rendered, err error) outcome {
	var pe *channels.Error
	errors.As(err, &pe)
	code := ""
	if pe != nil {
		code = pe.Code
	}
	switch channels.Classify(err) {
	case channels.Permanent:
		return w.finishRendered(ctx, j, text, domain.Failed, "provider_error "+code+": "+err.Error(), to, "")
	case channels.OptedOut:
		o := domain.OptOut{Channel: j.r.Channel, Address: to, Source: "provider " + code, At: w.o.Clock.Now()}
		if err := w.o.Intake.AddOptOut(ctx, j.r.BorrowerID, o); err != nil {
			return j.retry(err, 0)
		}
		return w.finishRendered(ctx, j, text, domain.Failed, "opted_out: recipient opted out ("+code+"); suppression recorded", to, "")
	default:
		var after time.Duration
		if pe != nil {
			after = pe.RetryAfter
		}
		return j.retry(err, after)
	}
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
