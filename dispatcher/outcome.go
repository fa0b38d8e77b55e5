package dispatcher

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// outcome is what a step of the delivery pipeline decided about a
// reminder's message. Steps return it rather than act on the message, and
// settle is the one place that turns it into a JetStream action. The zero
// value, proceed, is no decision yet: the next step decides.
type outcome struct {
	kind   outcomeKind
	delay  time.Duration // retry, deferral
	reason string        // drop
}

type outcomeKind int

const (
	undecided outcomeKind = iota
	// finished: the reminder's decision is recorded (sent, suppressed,
	// failed ...): ack.
	finished
	// retry: hand the message back to come again after delay (nak).
	retry
	// deferral: the reminder waits for its window; it comes back after
	// delay and is decided again then.
	deferral
	// dropped: the message can never be delivered: terminate it.
	dropped
)

// proceed is the outcome of a step that leaves the decision to the next.
var proceed = outcome{}

// done ends the reminder: its record is written, the message is acked.
func done() outcome { return outcome{kind: finished} }

// retryIn hands the message back to come again after d.
func retryIn(d time.Duration) outcome { return outcome{kind: retry, delay: d} }

// deferFor brings the reminder back after d, to be decided again.
func deferFor(d time.Duration) outcome { return outcome{kind: deferral, delay: d} }

// drop terminates a message that no redelivery could deliver.
func drop(reason string) outcome { return outcome{kind: dropped, reason: reason} }

// decided reports whether a step ended the pipeline.
func (o outcome) decided() bool { return o.kind != undecided }

// scheduleAfter is the shortest deferral handed to the server's message
// scheduler (its times have one-second resolution); shorter ones nak with
// a delay. A nak'ed message keeps its place in the consumer's ack window,
// so a night of deferred reminders in one zone would otherwise stall the
// sends to borrowers whose day has begun.
const scheduleAfter = 5 * time.Second

// settle does to m what out says: ack a finished reminder, nak one to
// retry with its delay, terminate a dropped one, and hand a deferred one
// to the stream's message scheduler (then ack it), or nak it with its
// delay when the deferral is short or the scheduler cannot take it.
func (w *Worker) settle(ctx context.Context, log *logrus.Entry, m jetstream.Msg, r domain.Reminder, out outcome) {
	if out.kind == deferral {
		out = w.deferral(ctx, log, m, r, out.delay)
	}
	switch out.kind {
	case dropped:
		log.Error(out.reason + " terminated")
		_ = m.Term()
	case retry:
		_ = m.NakWithDelay(out.delay)
	default:
		// A lost ack only means a redelivery, which finds the sent record
		// and does not resend: no need to wait for the server's reply.
		if err := m.Ack(); err != nil {
			log.WithError(err).Warn("ack failed; the reminder may be redelivered and will be recognised as sent")
		}
	}
}

// deferral schedules a deferred reminder: done once the scheduler has it,
// else a retry after d.
func (w *Worker) deferral(ctx context.Context, log *logrus.Entry, m jetstream.Msg, r domain.Reminder, d time.Duration) outcome {
	if d < scheduleAfter {
		return retryIn(d)
	}
	if err := w.schedule(ctx, m, r, d); err != nil {
		log.WithError(err).Warn("could not schedule the deferred reminder; holding it in the consumer instead")
		return retryIn(d)
	}
	return done()
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

// retryAfter hands a reminder delivered for the delivered-th time back
// after err, with exponential backoff (1s, 2s, 4s ... capped at 5 min), or
// the provider's Retry-After (after) when longer.
func retryAfter(log *logrus.Entry, err error, delivered uint64, after time.Duration) outcome {
	d := time.Second << min(delivered-1, 8)
	d = min(d, 5*time.Minute)
	d = max(d, after)
	log.WithField("error", logging.Scrub(err.Error())).WithField("retry_in", d.String()).Warn("send failed; will retry")
	return retryIn(d)
}
