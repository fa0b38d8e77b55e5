package dispatcher

import (
	"context"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/domain"
)

// alreadySent looks, before resending a redelivered reminder, whether an
// earlier attempt got through: first the audit trail (the sent record,
// written before the ack, is the record of a finished send), then, when the
// ledger holds an attempt of the reminder (reserved just before the
// provider call), the provider itself, given the attempt's time (a worker
// may have died after the call, before the record). It proceeds when
// nothing was found: the reminder is sent.
func (w *Worker) alreadySent(ctx context.Context, j job, msg channels.Message, text Rendered) outcome {
	r := j.r
	// From the stream leader: the sent record may have been written a
	// moment ago by another instance, and for email it is the only guard
	// against a second send.
	if d, found, err := w.o.Audit.FindOnLeader(ctx, r.BorrowerID, r.ID, domain.Sent, domain.Delivered); err != nil {
		j.log.WithError(err).Warn("audit look-up failed; asking the provider")
	} else if found {
		j.log.WithField("provider_ref", d.ProviderRef).Info("redelivered reminder was already sent; not resending")
		return done()
	}
	l, ok := w.o.Provider.(channels.Looker)
	if !ok {
		return proceed
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
			return j.retry(err, 0)
		}
		if !found || a.Outcome == OutcomeCanceled {
			return proceed
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
		return j.retry(err, 0)
	}
	msg.Claimed = claimed
	res, found, err := l.Lookup(ctx, msg)
	if err != nil {
		j.log.WithError(err).Warn("provider lookup failed; resending")
		return proceed
	}
	if !found {
		return proceed
	}
	j.log.Info("provider already has the redelivered reminder; not resending")
	status := res.Status
	if status == "" {
		status = domain.Sent
	}
	return w.finishRendered(ctx, j, text, status, "found at provider after redelivery", msg.To, res.ProviderRef)
}
