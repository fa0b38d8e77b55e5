package compliance

import (
	"fmt"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

func (r *Rules) checkConversation(now time.Time, rem *domain.Reminder, l *Ledger, loc *time.Location, worded bool) (Decision, bool) {
	if r.AfterConversation <= 0 {
		return Decision{}, false
	}
	cut := now.Add(-r.AfterConversation)
	var last time.Time
	for _, a := range l.Attempts {
		if a.Outcome == OutcomeConnected && a.LoanID == rem.LoanID && a.At.After(cut) && a.At.After(last) && a.ID != rem.ID {
			last = a.At
		}
	}
	if last.IsZero() {
		return Decision{}, false
	}
	until := last.Add(r.AfterConversation)
	return decision(worded, domain.Capped, RuleConversation, r.SourceOf(RuleConversation), until, func() string {
		return fmt.Sprintf("a call about loan %s connected at %s; no calls about that loan for %s after a conversation, until %s",
			rem.LoanID, stamp(last, loc), fmtDur(r.AfterConversation), stamp(until, loc))
	}), true
}

// localDay returns the bounds of now's day in loc.
func localDay(now time.Time, loc *time.Location) (start, end time.Time) {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func (r *Rules) checkConnectedPerDay(now time.Time, rem *domain.Reminder, l *Ledger, loc *time.Location, worded bool) (Decision, bool) {
	if r.MaxConnectedPerDay <= 0 {
		return Decision{}, false
	}
	dayStart, dayEnd := localDay(now, loc)
	n := 0
	for _, a := range l.Attempts {
		if a.Outcome == OutcomeConnected && a.Channel == domain.Voice && !a.At.Before(dayStart) && a.At.Before(dayEnd) && a.ID != rem.ID {
			n++
		}
	}
	if n < r.MaxConnectedPerDay {
		return Decision{}, false
	}
	return decision(worded, domain.Capped, RuleConnectedPerDay, r.SourceOf(RuleConnectedPerDay), dayEnd, func() string {
		return fmt.Sprintf("%d connected calls on %s (%s), whoever or whatever spoke for the lender, at most %d a day; until %s",
			n, dayStart.Format(time.DateOnly), loc, r.MaxConnectedPerDay, stamp(dayEnd, loc))
	}), true
}

// checkCallsPerDay caps the calls placed to the borrower's number in a
// local day. Every call placed counts, answered, unanswered or busy; only
// failed calls (never placed) and cancelled ones (stopped before the
// provider) do not. forbear calls one number per borrower, so the
// borrower's calls of the day are the number's.
func (r *Rules) checkCallsPerDay(now time.Time, rem *domain.Reminder, l *Ledger, loc *time.Location, worded bool) (Decision, bool) {
	if r.MaxCallsPerDay <= 0 {
		return Decision{}, false
	}
	dayStart, dayEnd := localDay(now, loc)
	n := 0
	for _, a := range l.Attempts {
		if a.Channel == domain.Voice && a.Outcome != OutcomeFailed && a.Outcome != OutcomeCanceled &&
			!a.At.Before(dayStart) && a.At.Before(dayEnd) && a.ID != rem.ID {
			n++
		}
	}
	if n < r.MaxCallsPerDay {
		return Decision{}, false
	}
	return decision(worded, domain.Capped, RuleCallsPerDay, r.SourceOf(RuleCallsPerDay), dayEnd, func() string {
		return fmt.Sprintf("%d calls placed to the borrower's number on %s (%s), answered or not, at most %d a day; until %s",
			n, dayStart.Format(time.DateOnly), loc, r.MaxCallsPerDay, stamp(dayEnd, loc))
	}), true
}

// consentFrom returns the earliest voice consent of b still inside the
// consent window at now: calls placed at or after it are not counted by
// the voice cap (zero: none). Any consent in force covers the calls after
// it, so the earliest one covers the most.
func (r *Rules) consentFrom(now time.Time, b *domain.Borrower) time.Time {
	if r.ConsentWindow <= 0 {
		return time.Time{}
	}
	var from time.Time
	for _, c := range b.Consents {
		if c.Channel == domain.Voice && !c.At.After(now) && now.Before(c.At.Add(r.ConsentWindow)) && (from.IsZero() || c.At.Before(from)) {
			from = c.At
		}
	}
	return from
}

func (r *Rules) checkCap(now time.Time, rem *domain.Reminder, b *domain.Borrower, l *Ledger, loc *time.Location, worded bool) (Decision, bool) {
	c, ok := r.Caps[rem.Channel]
	if !ok || !c.on() {
		return Decision{}, false
	}
	k := counter{ch: rem.Channel, loan: rem.LoanID, perLoan: c.PerLoan, cut: now.Add(-c.Per), self: rem.ID}
	if rem.Channel == domain.Voice {
		k.consentFrom = r.consentFrom(now, b)
	}
	n, until := k.count(l, c)
	if n < c.Max {
		return Decision{}, false
	}
	return decision(worded, domain.Capped, RuleCap, r.SourceOf(CapKey(rem.Channel)), until, func() string {
		scope := "the borrower"
		if c.PerLoan {
			scope = "loan " + rem.LoanID
		}
		note := ""
		if from := k.consentFrom; !from.IsZero() {
			k.consentFrom = time.Time{}
			if all, _ := k.count(l, c); all > n {
				src := r.SourceOf(SourceConsent)
				note = fmt.Sprintf(" (%d placed after the borrower's consent of %s not counted while it is under %s old, %s)",
					all-n, stamp(from, loc), fmtDur(r.ConsentWindow), src)
			}
		}
		return fmt.Sprintf("%s %s reached for %s (%d counted in the last %s%s); frees at %s",
			rem.Channel, c, scope, n, fmtDur(c.Per), note, stamp(until, loc))
	}), true
}

// checkPhoneContacts caps the calls and texts about one loan by the kind
// of number they go to (PhoneCaps). Attempts count whatever number they
// went to, so a borrower whose number changed kind is counted at least as
// strictly as either number alone.
func (r *Rules) checkPhoneContacts(now time.Time, rem *domain.Reminder, b *domain.Borrower, l *Ledger, loc *time.Location, worded bool) (Decision, bool) {
	if !r.PhoneContacts.on() {
		return Decision{}, false
	}
	// Which cap applies depends on the kind of number, and a kind not
	// given is read from the number's type, which costs a parse of the
	// number (dozens of allocations): it is read only when a cap that may
	// apply is reached.
	reached := func(c Cap) bool {
		if !c.on() {
			return false
		}
		k := counter{ch: domain.Voice, also: domain.SMS, loan: rem.LoanID, perLoan: c.PerLoan, cut: now.Add(-c.Per), self: rem.ID}
		n, _ := k.count(l, c)
		return n >= c.Max
	}
	if !reached(r.PhoneContacts.Personal) && !reached(r.PhoneContacts.Other) {
		return Decision{}, false
	}
	kind, personal := phoneKind(b)
	c := r.PhoneContacts.Other
	if personal {
		c = r.PhoneContacts.Personal
	}
	if !c.on() {
		return Decision{}, false
	}
	k := counter{ch: domain.Voice, also: domain.SMS, loan: rem.LoanID, perLoan: c.PerLoan, cut: now.Add(-c.Per), self: rem.ID}
	n, until := k.count(l, c)
	if n < c.Max {
		return Decision{}, false
	}
	return decision(worded, domain.Capped, RulePhoneContacts, r.SourceOf(RulePhoneContacts), until, func() string {
		scope := "the borrower"
		if c.PerLoan {
			scope = "loan " + rem.LoanID
		}
		return fmt.Sprintf("%d calls and texts about %s in the last %s, at most %d per %s to a %s number; frees at %s",
			n, scope, fmtDur(c.Per), c.Max, fmtDur(c.Per), kind, stamp(until, loc))
	}), true
}

// counter counts the attempts a rolling cap looks at: on channel ch (or
// also), about loan when perLoan, after cut, not the reminder's own
// (self), with an outcome that counts, and not placed at or after
// consentFrom when that is set.
type counter struct {
	ch, also    domain.Channel
	loan        string
	perLoan     bool
	cut         time.Time
	self        string
	consentFrom time.Time
}

func (k *counter) counts(a *Attempt) bool {
	return (a.Channel == k.ch || k.also != "" && a.Channel == k.also) && a.Counts() && a.At.After(k.cut) &&
		(!k.perLoan || a.LoanID == k.loan) && a.ID != k.self &&
		(k.consentFrom.IsZero() || a.At.Before(k.consentFrom))
}

// count returns how many attempts count, and, when that reaches c.Max,
// when the cap frees: when all but Max-1 of them have left the window, at
// the (n-Max)th oldest one's time + Per. An attempt stamped after now
// (clock skew between instances) still counts.
func (k *counter) count(l *Ledger, c Cap) (int, time.Time) {
	n := 0
	for i := range l.Attempts {
		if k.counts(&l.Attempts[i]) {
			n++
		}
	}
	if n < c.Max {
		return n, time.Time{}
	}
	var buf [32]int64
	times := buf[:0]
	for i := range l.Attempts {
		if k.counts(&l.Attempts[i]) {
			times = append(times, l.Attempts[i].At.UnixNano())
		}
	}
	slices.Sort(times)
	return n, time.Unix(0, times[n-c.Max]).Add(c.Per)
}
