package compliance

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/domain"
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

// searchHorizon bounds the search for the next instant that is inside the
// window in every zone of a borrower.
const searchHorizon = 48 * time.Hour

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

// gate evaluates the deferring rules (send window and blackouts).
type gate struct {
	w         Window
	src       Source // of the window
	zs        zoneSet
	blackouts []domain.Blackout
	ch        domain.Channel
	worded    bool // word the reasons (Check), or not (CheckWithoutReason)
}

// windowOK reports whether t is inside the window in the first n zones.
func (g *gate) windowOK(t time.Time, n int) bool {
	if g.w.Always() {
		return true
	}
	for i := 0; i < n; i++ {
		h, m, _ := t.In(g.zs.zone(i)).Clock()
		if !g.w.Contains(h*60 + m) {
			return false
		}
	}
	return true
}

// blackout returns the index of a blackout of g.ch covering t (primary
// zone), or -1.
func (g *gate) blackout(t time.Time) int {
	if len(g.blackouts) == 0 {
		return -1
	}
	h, m, _ := t.In(g.zs.primary).Clock()
	mm := h*60 + m
	for i := range g.blackouts {
		s, e, ok := g.bounds(i)
		if !ok {
			continue
		}
		if s < e && s <= mm && mm < e || s > e && (mm >= s || mm < e) {
			return i
		}
	}
	return -1
}

// bounds parses blackout i if it applies to g.ch. Unparseable blackouts
// are ignored (intake validates them).
func (g *gate) bounds(i int) (start, end int, ok bool) {
	b := &g.blackouts[i]
	if len(b.Channels) > 0 && !slices.Contains(b.Channels, g.ch) {
		return 0, 0, false
	}
	s, ok1 := clockMinutes(b.Start)
	e, ok2 := clockMinutes(b.End)
	if !ok1 || !ok2 || s == e {
		return 0, 0, false
	}
	return s, e, true
}

func (g *gate) allowed(t time.Time, n int) bool {
	return g.windowOK(t, n) && g.blackout(t) < 0
}

// next returns the earliest instant after now, within searchHorizon, that
// is allowed in the first n zones. The verdict only changes where a
// zone's local clock reaches a window or blackout boundary or where a zone
// changes its UTC offset, so those instants are the only candidates; each
// constant-offset segment of each zone is walked (exact across DST gaps
// and overlaps, where a local time occurs never or twice).
func (g *gate) next(now time.Time, n int) (time.Time, bool) {
	nowU := now.Unix()
	horizon := now.Add(searchHorizon).Unix()
	best := int64(math.MaxInt64)
	consider := func(u int64) {
		if u > nowU && u <= horizon && u < best && g.allowed(time.Unix(u, 0), n) {
			best = u
		}
	}
	for i := 0; i < n; i++ {
		loc := g.zs.zone(i)
		t := now
		for {
			lt := t.In(loc)
			_, off := lt.Zone()
			_, end := lt.ZoneBounds()
			segStart := t.Unix()
			consider(segStart) // an offset change (or now itself, skipped)
			segEnd := horizon + 1
			if !end.IsZero() && end.Unix() < segEnd {
				segEnd = end.Unix()
			}
			// Local midnight of segStart's day, as a Unix time, under off.
			day := floorDiv(segStart+int64(off), 86400)*86400 - int64(off)
			visit := func(m int) {
				for u := day + int64(m)*60; u < segEnd; u += 86400 {
					if u >= segStart {
						consider(u)
					}
				}
			}
			if !g.w.Always() {
				visit(g.w.Start)
				visit(g.w.End)
			}
			if i == 0 {
				for j := range g.blackouts {
					if s, e, ok := g.bounds(j); ok {
						visit(s)
						visit(e)
					}
				}
			}
			if end.IsZero() || end.Unix() > horizon {
				break
			}
			t = end
		}
	}
	if best == math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(best, 0).In(g.zs.primary), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// decide applies the send window (in every zone, or in the primary zone
// when the zones share no allowed moment within the horizon) and the
// blackouts.
func (g *gate) decide(now time.Time) Decision {
	n := g.zs.count(true)
	if g.allowed(now, n) {
		return Decision{Allowed: true}
	}
	var until time.Time
	ok := false
	if n == 1 || !g.cannotShare(now, n) {
		until, ok = g.next(now, n)
	}
	// fallback words the zones that share no time, when they do not.
	all := n
	fallback := func() string { return "" }
	if !ok && n > 1 {
		fallback = func() string {
			return fmt.Sprintf("%s share no time inside %s within %s, so the primary zone %s decides; ",
				g.zoneList(all), g.w, fmtDur(searchHorizon), g.zs.primary)
		}
		n = 1
		if g.allowed(now, n) {
			d := Decision{Allowed: true}
			if g.worded {
				d.Reason = RuleSendWindow + "[" + g.src.String() + "]: " + fallback() + "now is inside it"
			}
			return d
		}
		until, ok = g.next(now, n)
	}
	loc := g.zs.primary
	rule, src := RuleSendWindow, g.src
	outside := !g.windowOK(now, n)
	if !outside {
		rule, src = RuleBlackout, blackoutSource
	}
	why := func() string {
		if outside {
			return fallback() + fmt.Sprintf("%s is outside %s", g.localNow(now, n), g.w)
		}
		b := g.blackouts[g.blackout(now)]
		chans := "all channels"
		if len(b.Channels) > 0 {
			chans = string(g.ch)
		}
		return fallback() + fmt.Sprintf("borrower blackout %s-%s %s (%s) covers %s", b.Start, b.End, loc, chans, now.In(loc).Format("15:04"))
	}
	if !ok {
		// Only blackouts can leave no allowed time: they cover the whole
		// window on this channel. Record it rather than retry forever.
		return decision(g.worded, domain.Capped, RuleBlackout, blackoutSource, time.Time{}, func() string {
			return fmt.Sprintf("%s; the borrower's blackouts leave no time inside %s on %s within %s", why(), g.w, g.ch, fmtDur(searchHorizon))
		})
	}
	return decision(g.worded, domain.Deferred, rule, src, until, func() string {
		return fmt.Sprintf("%s; deferred until %s%s", why(), stamp(until, loc), g.elsewhere(until, n))
	})
}

// cannotShare reports, cheaply, that the first n zones (three or more)
// share no time inside the window anywhere within the search horizon, so
// that the exact search can be skipped: a number the data places only by
// its country (an unassigned +1 area code: some 40 zones from Guam to
// Newfoundland) would otherwise cost a search on every check. The zones'
// windows meet only when their UTC offsets fit in an arc shorter than the
// window; within the horizon each offset moves at most once, by an hour
// or less, so an arc 3h longer than the window at now cannot shrink
// enough. Otherwise it reports false and the exact search decides.
func (g *gate) cannotShare(now time.Time, n int) bool {
	const daySecs = 24 * 3600
	var buf [64]int
	if n < 3 || n > len(buf) || g.w.Always() {
		return false
	}
	offs := buf[:n]
	for i := range offs {
		_, off := now.In(g.zs.zone(i)).Zone()
		offs[i] = (off%daySecs + daySecs) % daySecs
	}
	slices.Sort(offs)
	gap := offs[0] + daySecs - offs[n-1]
	for i := 1; i < n; i++ {
		gap = max(gap, offs[i]-offs[i-1])
	}
	return daySecs-gap >= (g.w.End-g.w.Start)*60+3*3600
}

// maxListed bounds how many zones a reason names.
const maxListed = 4

// zoneList names the first n zones and where each comes from.
func (g *gate) zoneList(n int) string {
	var sb strings.Builder
	for i := range min(n, maxListed) {
		if i > 0 {
			sb.WriteString(" and ")
		}
		sb.WriteString(g.zs.zone(i).String())
		switch {
		case i > 0:
			sb.WriteString(" (phone region)")
		case g.zs.stored:
			sb.WriteString(" (stored)")
		default:
			sb.WriteString(" (default)")
		}
	}
	if n > maxListed {
		fmt.Fprintf(&sb, " and %d more zones of the phone number", n-maxListed)
	}
	return sb.String()
}

// localNow renders now in the first n zones: "07:59 Asia/Shanghai".
func (g *gate) localNow(now time.Time, n int) string {
	parts := make([]string, 0, min(n, maxListed))
	for i := range min(n, maxListed) {
		part := now.In(g.zs.zone(i)).Format("15:04") + " " + g.zs.zone(i).String()
		if i > 0 {
			part += " (phone region)"
		}
		parts = append(parts, part)
	}
	s := strings.Join(parts, " / ")
	if n > maxListed {
		s += fmt.Sprintf(" and %d more zones", n-maxListed)
	}
	return s
}

// elsewhere renders until in the other zones: " (08:00 America/New_York)".
func (g *gate) elsewhere(until time.Time, n int) string {
	if n < 2 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(" (")
	for i := 1; i < min(n, maxListed); i++ {
		if i > 1 {
			sb.WriteString(", ")
		}
		sb.WriteString(until.In(g.zs.zone(i)).Format("15:04 ") + g.zs.zone(i).String())
	}
	if n > maxListed {
		fmt.Fprintf(&sb, " and %d more", n-maxListed)
	}
	sb.WriteString(")")
	return sb.String()
}

// stamp renders t in loc, RFC 3339 with the offset.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}
