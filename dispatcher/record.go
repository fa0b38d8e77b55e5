package dispatcher

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
)

// finish records a decision taken before the reminder was rendered.
func (w *Worker) finish(ctx context.Context, j job, status domain.Status, reason, to, ref string) outcome {
	return w.record(ctx, j, nil, status, reason, to, ref)
}

// finishRendered records a decision taken after rendering: the record
// carries the message as the borrower got it, or would have, and the
// template version it came from.
func (w *Worker) finishRendered(ctx context.Context, j job, text Rendered, status domain.Status, reason, to, ref string) outcome {
	return w.record(ctx, j, &text, status, reason, to, ref)
}

// record writes the audit record of a decision: done once it is stored.
func (w *Worker) record(ctx context.Context, j job, text *Rendered, status domain.Status, reason, to, ref string) outcome {
	r := j.r
	d := domain.NewDelivery(r, status, w.o.Clock.Now())
	d.Reason, d.To, d.ProviderRef = reason, to, ref
	if text != nil {
		d.TemplateVersion = text.Version
		d.SetText(text.Subject, text.Text)
	}
	if err := w.o.Audit.Record(ctx, d); err != nil {
		// The decision stands; without its record we retry so it is not
		// lost (backing off as on a first delivery).
		return retryAfter(j.log, err, 1, 0)
	}
	w.o.Metrics.Delivery(string(r.Channel), string(status))
	entry := j.log.WithFields(logrus.Fields{"status": string(status), "to": logging.Address(to)})
	if reason != "" {
		entry = entry.WithField("reason", logging.Scrub(reason))
	}
	if status == domain.Sent || status == domain.Delivered {
		entry.Debug("reminder " + string(status))
	} else {
		entry.Info("reminder " + string(status))
	}
	return done()
}

// noteAttempt notes how an attempt ended in the ledger, so a failed or
// cancelled one does not count toward a cap.
func (w *Worker) noteAttempt(ctx context.Context, j job, result string) {
	if w.o.Ledger == nil {
		return
	}
	if err := w.o.Ledger.Outcome(ctx, j.r.BorrowerID, j.r.ID, result); err != nil {
		j.log.WithError(err).Warn("ledger outcome not recorded")
	}
}
