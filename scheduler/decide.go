package scheduler

import (
	"iter"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// The sweep's decisions for one due subject, without I/O: what is still
// to publish, what the borrower's suppressions withhold, and where the
// subject's index entry goes next. The sweep (sweep_read.go and
// sweep_write.go) reads what these need and writes what they decide;
// decide_test.go tables them without NATS.

// outgoing is one reminder to publish: its target (an index into
// Plan.Targets) and the reminder with its channel and id.
type outgoing struct {
	t   int
	rem domain.Reminder
}

// withheld is a reminder a suppression keeps from being published.
type withheld struct {
	rem    domain.Reminder
	reason string
}

// selection is what the sweep publishes of a planned subject.
type selection struct {
	send []outgoing
	// already counts the reminders of live occurrences already published.
	already int
	// held lists the reminders a suppression withholds.
	held []withheld
	// wake is the earliest end of a mute that withheld a reminder (zero:
	// none), when the subject must be planned again.
	wake time.Time
}

// unsentReminders yields the reminders of p's live occurrences that rec
// does not mark as published, each with the index of its target and its
// channel set (not its id: not every caller needs it).
func unsentReminders(p Plan, rec record) iter.Seq2[int, domain.Reminder] {
	return func(yield func(int, domain.Reminder) bool) {
		for i, t := range p.Targets {
			done := rec.done(t.Marker)
			for _, ch := range t.Channels {
				if slices.Contains(done, ch) {
					continue
				}
				rem := t.Reminder
				rem.Channel = ch
				if !yield(i, rem) {
					return
				}
			}
		}
	}
}

// unsent counts the reminders of p's live occurrences that rec does not
// mark as published: the sweep reads suppressions only when there are
// some.
func unsent(p Plan, rec record) int {
	n := 0
	for range unsentReminders(p, rec) {
		n++
	}
	return n
}

// selectReminders decides which reminders of p to publish at now: those
// rec does not mark as published and sup does not withhold. A suppressed
// scope gets no new occurrence; a mute that ends brings the subject back
// when it ends (wake).
func selectReminders(p Plan, rec record, sup domain.Suppressions, now time.Time) selection {
	var sel selection
	for _, t := range p.Targets {
		sel.already += len(t.Channels)
	}
	for i, rem := range unsentReminders(p, rec) {
		sel.already--
		rem.ID = ReminderID(rem.Occurrence, string(rem.Channel))
		if blk, until, blocked := Withheld(sup, rem, now); blocked {
			sel.held = append(sel.held, withheld{rem: rem, reason: blk.Reason()})
			if !until.IsZero() && (sel.wake.IsZero() || until.Before(sel.wake)) {
				sel.wake = until
			}
			continue
		}
		sel.send = append(sel.send, outgoing{t: i, rem: rem})
	}
	return sel
}

// clearFor says whether sup withholds none of the reminders of p that
// rec does not mark as published. The sweep trusts a cached view of the
// suppressions only when it is clear: it withholds a reminder only on the
// stream leader's word, so that a view still showing a lifted
// suppression cannot lose an occurrence.
func clearFor(p Plan, rec record, sup domain.Suppressions, now time.Time) bool {
	for _, rem := range unsentReminders(p, rec) {
		if _, blocked := sup.Blocking(rem, "", now); blocked {
			return false
		}
	}
	return true
}

// moveKind is where a subject's index entry goes after a sweep.
type moveKind int

const (
	// moveLater moves the entry to the minute of its next occurrence.
	moveLater moveKind = iota
	// moveDrop removes the subject from the index.
	moveDrop
	// moveRetry puts the subject in the now lane for the next scheduled
	// sweep.
	moveRetry
)

// placement is where a subject's entry goes, and why.
type placement struct {
	kind   moveKind
	at     time.Time // moveLater
	reason string    // moveDrop
}

// place decides where a subject's entry goes once its reminders are
// published: back to the now lane if anything failed, out of the index
// if the plan drops it or nothing is left to send, else to its next
// occurrence or the end of a mute that withheld one (wake), whichever
// comes first.
func place(p Plan, failed bool, wake time.Time) placement {
	switch {
	case failed:
		return placement{kind: moveRetry}
	case p.Drop != "":
		return placement{kind: moveDrop, reason: p.Drop}
	}
	next := p.Reschedule(wake)
	if next.IsZero() {
		return placement{kind: moveDrop, reason: "nothing left to send"}
	}
	return placement{kind: moveLater, at: next}
}
