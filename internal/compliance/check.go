package compliance

import (
	"fmt"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Attempt outcomes.
const (
	OutcomePending   = "pending"
	OutcomeSent      = "sent"
	OutcomeRang      = "rang"
	OutcomeNoAnswer  = "no-answer"
	OutcomeVoicemail = "voicemail"
	OutcomeConnected = "connected"
	OutcomeBusy      = "busy"
	OutcomeFailed    = "failed"
	OutcomeCanceled  = "canceled"
)

// Attempt is one contact attempt of a borrower: a message handed to a
// provider or a call placed, with what came of it so far.
type Attempt struct {
	ID      string // the reminder id (or provider reference) of the attempt
	Channel domain.Channel
	LoanID  string
	At      time.Time
	Outcome string // one of the Outcome* constants
	// Started is the wall-clock time of the reservation, just before the
	// provider call. At is on the scheduling clock, which the rules count
	// in; Started is what a provider's own records are compared with when
	// a redelivered reminder looks for its attempt there (the two differ
	// only where the scheduling clock is not the wall clock, as in tests).
	Started time.Time `json:",omitzero"`
}

// Counts reports whether the attempt counts toward caps: everything but
// busy, failed and canceled attempts (which never reached the borrower's
// line). A pending attempt counts: it may yet ring.
func (a Attempt) Counts() bool {
	switch a.Outcome {
	case OutcomeBusy, OutcomeFailed, OutcomeCanceled:
		return false
	}
	return true
}

// Ledger is one borrower's recent contact attempts, oldest first.
type Ledger struct {
	Attempts []Attempt
}

// Prune drops the attempts older than keep before now (use Rules.Keep).
// The result shares l's backing array when nothing in the middle goes.
func (l Ledger) Prune(now time.Time, keep time.Duration) Ledger {
	cut := now.Add(-keep)
	i := 0
	for i < len(l.Attempts) && l.Attempts[i].At.Before(cut) {
		i++
	}
	rest := l.Attempts[i:]
	for j := range rest {
		if rest[j].At.Before(cut) { // out of order: filter into a copy
			out := make([]Attempt, 0, len(rest))
			for _, a := range rest {
				if !a.At.Before(cut) {
					out = append(out, a)
				}
			}
			return Ledger{Attempts: out}
		}
	}
	return Ledger{Attempts: rest}
}

// Decision is the verdict on one reminder at one instant.
type Decision struct {
	// Allowed reminders go out now; the other fields are then empty unless
	// Reason notes a fallback.
	Allowed bool
	// Status is domain.Deferred (hold and try again at Until) or
	// domain.Capped (record, do not send, do not retry).
	Status domain.Status
	// Rule is the rule that decided (one of the Rule* ids).
	Rule string
	// Pack and Citation say where the rule's value comes from (Source):
	// the preset and the article of its text, "config" and the key, or
	// "forbear" and "default".
	Pack     string
	Citation string
	// Reason is the delivery record's reason: the rule, its source and
	// what it found, as "rule[pack citation]: which window or cap, which
	// zones, until when".
	Reason string
	// Until is when to try again (deferred) or when the cap frees
	// (capped; informational).
	Until time.Time
}

// decision builds a Decision whose Reason starts with the rule and its
// source, then says what explain words; unless worded is false
// (CheckWithoutReason), when explain is not called. Callers pass explain
// as a function literal: it does not escape, so it costs no allocation,
// and the words (the formatting, the times in every zone) are the
// expensive part of a decision.
func decision(worded bool, status domain.Status, rule string, src Source, until time.Time, explain func() string) Decision {
	d := Decision{Status: status, Rule: rule, Pack: src.Pack, Citation: src.Citation, Until: until}
	if worded {
		d.Reason = rule + "[" + src.String() + "]: " + explain()
	}
	return d
}

// numberHold is how long after its due time an SMS waits for its number to
// be confirmed (RuleNumberCheck) before it is capped: forbear's choice, so
// that a reminder does not circulate for ever.
const numberHold = 7 * day

// Check decides whether rem may go to b at now, given b's recent attempts.
// Capping rules come first (a capped reminder is not retried), then the
// rules that defer: the number check, the send window and blackouts.
// Attempts carrying rem's own ID are ignored, so a redelivered reminder
// does not cap itself.
func (r Rules) Check(now time.Time, rem domain.Reminder, b domain.Borrower, l Ledger) Decision {
	return r.check(now, &rem, &b, &l, true)
}

// CheckWithoutReason decides as Check does (the same Allowed, Status,
// Rule, Pack, Citation and Until) but leaves Reason empty, which costs no
// allocation: wording a reason costs more than deciding. The dry run
// words only the reasons of the schedules it keeps; the live workers use
// Check, whose reasons the audit records keep.
func (r Rules) CheckWithoutReason(now time.Time, rem domain.Reminder, b domain.Borrower, l Ledger) Decision {
	return r.check(now, &rem, &b, &l, false)
}

// check is Check, with the reasons worded or not. It and the rules take
// their arguments by pointer: copying the rules, the reminder and the
// borrower into every rule's call would cost more than most rules do.
func (r *Rules) check(now time.Time, rem *domain.Reminder, b *domain.Borrower, l *Ledger, worded bool) Decision {
	zs := zonesOf(b.Phone, b.Timezone, r.DefaultZone)
	loc := zs.primary
	if rem.Channel == domain.Voice {
		if d, ok := r.checkConversation(now, rem, l, loc, worded); ok {
			return d
		}
		if d, ok := r.checkConnectedPerDay(now, rem, l, loc, worded); ok {
			return d
		}
		if d, ok := r.checkCallsPerDay(now, rem, l, loc, worded); ok {
			return d
		}
	}
	if d, ok := r.checkCap(now, rem, b, l, loc, worded); ok {
		return d
	}
	if rem.Channel == domain.Voice || rem.Channel == domain.SMS {
		if d, ok := r.checkPhoneContacts(now, rem, b, l, loc, worded); ok {
			return d
		}
	}
	if rem.Channel == domain.SMS {
		if d, ok := r.checkNumber(now, rem, b, loc, worded); ok {
			return d
		}
	}
	g := gate{w: r.Window, src: r.SourceOf(RuleSendWindow), zs: zs, blackouts: b.Blackouts, ch: rem.Channel, worded: worded}
	return g.decide(now)
}

// checkNumber holds an SMS to a number that was not confirmed to be the
// borrower's (a consent, a reassigned-number check, or a consent to SMS)
// within NumberCheck. The SMS is deferred, not dropped: it goes once a
// confirmation is recorded, and is capped only when none comes within
// numberHold of its due time. The reason does not change from one return
// of the reminder to the next, so the deferral is recorded once.
func (r *Rules) checkNumber(now time.Time, rem *domain.Reminder, b *domain.Borrower, loc *time.Location, worded bool) (Decision, bool) {
	if r.NumberCheck <= 0 || b.Phone == "" {
		return Decision{}, false
	}
	last, how := numberConfirmed(now, b)
	if !last.IsZero() && !now.After(last.Add(r.NumberCheck)) {
		return Decision{}, false
	}
	why := func() string {
		if last.IsZero() {
			return "the number has no consent or reassigned-number check on record"
		}
		return fmt.Sprintf("the number was last confirmed on %s (%s), more than %s ago", stamp(last, loc), how, fmtDur(r.NumberCheck))
	}
	due := rem.DueAt
	if due.IsZero() {
		due = rem.QueuedAt
	}
	if due.IsZero() {
		due = now
	}
	holdEnd := due.Add(numberHold)
	src := r.SourceOf(RuleNumberCheck)
	if !now.Before(holdEnd) {
		return decision(worded, domain.Capped, RuleNumberCheck, src, time.Time{}, func() string {
			return fmt.Sprintf("%s; an SMS needs a consent or a reassigned-number check within %s, and none came within %s of the reminder's due time (%s): not sent",
				why(), fmtDur(r.NumberCheck), fmtDur(numberHold), stamp(due, loc))
		}), true
	}
	return decision(worded, domain.Deferred, RuleNumberCheck, src, holdEnd, func() string {
		return fmt.Sprintf("%s; an SMS needs a consent or a reassigned-number check within %s; held until one is recorded, at most until %s",
			why(), fmtDur(r.NumberCheck), stamp(holdEnd, loc))
	}), true
}

// numberConfirmed returns the latest confirmation of b's number at or
// before now, and how it was made.
func numberConfirmed(now time.Time, b *domain.Borrower) (time.Time, string) {
	var last time.Time
	how := ""
	if t := b.PhoneCheckedAt; t != nil && !t.After(now) && b.PhoneCheck != "" {
		last, how = *t, b.PhoneCheck
	}
	if c, ok := b.LatestConsent(domain.SMS, now); ok && c.After(last) {
		last, how = c, "consent to SMS"
	}
	return last, how
}

// stamp renders t in loc, RFC 3339 with the offset.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}
