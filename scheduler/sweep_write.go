package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// sent is one reminder publish in flight.
type sent struct {
	outgoing
	f   jetstream.PubAckFuture
	err error
}

// move is a subject's index entry moving to a new time key. The old entry
// goes with the sweep's listing, which is removed only once every move
// landed or was requeued, so a failed write never loses the subject.
type move struct {
	put jetstream.PubAckFuture
	rec recordPut
	err error
}

// recordPut is a compare-and-set write of a subject's record in flight,
// with the markers it adds: should a Reindex win the race, they are added
// to the record the Reindex wrote.
type recordPut struct {
	sub   subject
	newly map[string]mark
	f     jetstream.PubAckFuture
	err   error
}

// send publishes what selectReminders picks of every item and waits for
// all the acknowledgements at once.
func (w *worker) send(ctx context.Context, items []*item) {
	s, now := w.sw.s, w.sw.now
	var auditAcks acks
	for _, it := range items {
		if it.err != nil || it.p.Drop != "" {
			continue
		}
		sel := selectReminders(it.p, it.rec, it.sup, now)
		w.sw.skipped.Add(int64(sel.already + len(sel.held)))
		it.wake = sel.wake
		if w.sw.debug {
			for _, h := range sel.held {
				s.log.WithFields(reminderFields(h.rem)).WithField("reason", h.reason).Debug("scheduler: suppressed, not scheduled")
			}
		}
		for _, o := range sel.send {
			data, err := json.Marshal(o.rem)
			if err == nil {
				var f jetstream.PubAckFuture
				f, err = s.js.PublishAsync(store.ReminderSubject(string(o.rem.Channel), o.rem.BorrowerID), data,
					jetstream.WithMsgID(o.rem.ID), jetstream.WithStallWait(stallWait))
				if err == nil {
					it.sent = append(it.sent, sent{outgoing: o, f: f})
				}
			}
			if err != nil {
				it.err = errors.Join(it.err, fmt.Errorf("publish %s: %w", o.rem.ID, err))
			}
		}
	}
	for _, it := range items {
		for i := range it.sent {
			x := &it.sent[i]
			if x.err = waitAck(ctx, x.f); x.err != nil {
				it.err = errors.Join(it.err, fmt.Errorf("publish %s: %w", x.rem.ID, x.err))
				continue
			}
			w.sw.published.Add(1)
			// Only now is the reminder queued: a publish that failed (a
			// stream without a leader, say) leaves no "queued" line for
			// a reminder that a later sweep may replace by a newer
			// occurrence.
			if s.audit != nil {
				auditAcks.add(w.recordQueued(x.rem, now))
			}
			if w.sw.debug {
				s.log.WithFields(reminderFields(x.rem)).Debug("scheduler: queued")
			}
		}
	}
	if err := auditAcks.wait(ctx); err != nil {
		// The reminders are on their way; only "queued" lines are missing.
		s.log.WithError(err).Warn("scheduler: audit records")
	}
}

// finish marks what an item published in its record and moves, drops or
// requeues its entry, as place decides.
func (w *worker) finish(ctx context.Context, it *item) {
	s, now := w.sw.s, w.sw.now
	// Markers only for what the stream acknowledged: a crash before the
	// record is written republishes, and the dedup window drops the copy.
	var newly record
	for _, x := range it.sent {
		if x.err == nil {
			newly.markSent(it.p.Targets[x.t].Marker, []domain.Channel{x.rem.Channel}, now)
		}
	}
	it.newly = newly.Sent
	it.rec.merge(it.newly)
	pl := place(it.p, it.err != nil, it.wake)
	switch pl.kind {
	case moveRetry:
		w.sw.failed.Add(1)
		s.failed.Store(it.sub.nowKey(), struct{}{})
		s.log.WithError(it.err).WithFields(logrus.Fields{"kind": it.sub.kind, "id": it.sub.id}).Error("scheduler: subject failed, retrying at the next sweep")
		w.requeue(ctx, it.sub, it.newly)
	case moveDrop:
		if it.p.Drop == "" {
			w.sw.skipped.Add(int64(it.p.Held))
		}
		w.drop(it, pl.reason)
	case moveLater:
		w.sw.skipped.Add(int64(it.p.Held))
		w.reschedule(it, pl.at)
	}
}

// requeue puts a subject in the now lane with the markers it gained, so
// that the next sweep retries it whatever the cursor does.
func (w *worker) requeue(ctx context.Context, sub subject, newly map[string]mark) {
	// Without a nudge: a subject that failed waits for the scheduled
	// sweep rather than making the leader retry it at once, in a loop.
	if err := w.sw.s.reindex(ctx, sub, newly); err != nil {
		w.sw.incomplete.Store(true)
		w.sw.s.log.WithError(err).WithFields(logrus.Fields{"kind": sub.kind, "id": sub.id}).Error("scheduler: requeue")
	}
}

// drop takes a subject out of the index: its entry goes with the
// sweep's listing (purgeListed), its record now, unless it still has
// markers to keep: then it stays, without an entry, until the markers
// expire. The record's write is conditional, so a Reindex that raced
// wins.
func (w *worker) drop(it *item, why string) {
	s, now := w.sw.s, w.sw.now
	w.sw.dropped.Add(1)
	if w.sw.debug {
		s.log.WithFields(logrus.Fields{"kind": it.sub.kind, "id": it.sub.id, "reason": why}).Debug("scheduler: unindex")
	}
	rec := it.rec
	rec.Entry = ""
	rec.prune(now)
	p := recordPut{sub: it.sub, newly: it.newly}
	if rec.Sent == nil && rec.OldMarkersUntil.IsZero() {
		p.f, p.err = s.dueW.del(it.sub.revKey(), true, it.recRev)
	} else {
		p.f, p.err = s.dueW.put(it.sub.revKey(), rec.encode(), true, it.recRev, jetstream.WithMsgTTL(markerTTL))
	}
	w.recs = append(w.recs, p)
}

// reschedule moves a subject's entry to the minute of next.
func (w *worker) reschedule(it *item, next time.Time) {
	s := w.sw.s
	if ceilMinute(next).Before(w.sw.floor) {
		// Must land after the cursor this sweep writes, or it would never
		// be listed.
		next = w.sw.floor
	}
	key := it.sub.timeKey(next)
	rec := it.rec
	rec.Entry = key
	rec.prune(w.sw.now)
	m := move{rec: recordPut{sub: it.sub, newly: it.newly}}
	m.put, m.err = s.dueW.put(key, nil, false, 0)
	if m.err == nil {
		m.rec.f, m.rec.err = s.dueW.put(it.sub.revKey(), rec.encode(), true, it.recRev)
	}
	w.moves = append(w.moves, m)
}

// flush waits for the deferred writes. A drop or a move that did not
// land is requeued, with the markers it carried; the old entries go with
// the sweep's listing.
func (w *worker) flush(ctx context.Context) {
	log := w.sw.s.log
	for _, p := range w.recs {
		if err := w.settleRecord(ctx, p); err != nil {
			log.WithError(err).WithFields(logrus.Fields{"kind": p.sub.kind, "id": p.sub.id}).Warn("scheduler: drop failed, requeueing")
			w.requeue(ctx, p.sub, p.newly)
		}
	}
	w.recs = w.recs[:0]
	for _, m := range w.moves {
		err := m.err
		if err == nil {
			err = waitAck(ctx, m.put)
		}
		if err == nil {
			err = w.settleRecord(ctx, m.rec)
		}
		if err != nil {
			log.WithError(err).WithFields(logrus.Fields{"kind": m.rec.sub.kind, "id": m.rec.sub.id}).Warn("scheduler: reschedule failed, requeueing")
			w.requeue(ctx, m.rec.sub, m.rec.newly)
		}
	}
	w.moves = w.moves[:0]
}

// settleRecord waits for a record write. One that lost to a Reindex is
// no error (the Reindex's now entry stands), but the markers it carried
// are added to the record the Reindex wrote.
func (w *worker) settleRecord(ctx context.Context, p recordPut) error {
	err := p.err
	if err == nil {
		err = waitAck(ctx, p.f)
	}
	if !store.IsWrongSequence(err) {
		return err
	}
	if len(p.newly) == 0 {
		return nil
	}
	_, err = w.sw.s.updateRecord(ctx, p.sub, func(r *record) { r.merge(p.newly) }, nil)
	return err
}

// recordQueued writes the "queued" delivery record of rem. The recorder
// publishes with the client's default stall wait, which a big sweep can
// exceed while the publish cap is full: retry rather than lose the line.
func (w *worker) recordQueued(rem domain.Reminder, now time.Time) (jetstream.PubAckFuture, error) {
	d := domain.NewDelivery(rem, domain.Queued, now)
	for attempt := 0; ; attempt++ {
		f, err := w.sw.s.audit.RecordAsync(d)
		if err == nil || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 50 {
			return f, err
		}
	}
}

func reminderFields(r domain.Reminder) logrus.Fields {
	return logrus.Fields{
		logging.FieldBorrower: r.BorrowerID, logging.FieldLoan: r.LoanID,
		logging.FieldStep: r.Step, logging.FieldChannel: string(r.Channel), logging.FieldMsg: r.ID,
	}
}
