package simulate

import (
	"hash/fnv"
	"slices"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/scheduler"
)

// due handles a subject the sweep lists at now: it plans it with the
// scheduler's Planner, publishes the live occurrences not yet published
// on a channel (unless a suppression withholds them) and moves the subject
// to its next due minute.
func (m *sim) due(now time.Time, i int) {
	sub := &m.subjects[i]
	p := &m.plan
	if sub.loan >= 0 {
		c := m.cases[sub.loan]
		if !m.s.Planner.Holds(c) {
			m.s.Planner.PlanLoanInto(p, c, m.loc, now)
		} else {
			// The agreement holds its loan's reminders back: plan the case
			// without it (the same occurrences and next due minute, which
			// the planner computes either way) to name what is withheld.
			free := c
			free.AgreementID = ""
			m.s.Planner.PlanLoanInto(p, free, m.loc, now)
			reason := ""
			if m.kept() {
				reason = "agreement:" + c.AgreementID
			}
			for _, t := range p.Targets {
				for _, ch := range t.Channels {
					m.withhold(now, t, ch, "agreement", reason)
				}
			}
			p.Targets = p.Targets[:0]
		}
	} else {
		m.s.Planner.PlanAgreementInto(p, m.agrs[sub.agr].a, m.loc, now)
	}
	if p.Drop != "" {
		return
	}
	var wake time.Time
	for _, t := range p.Targets {
		for _, ch := range t.Channels {
			bit := uint8(1) << channelIndex(ch)
			if m.markers[t.Marker]&bit != 0 {
				continue
			}
			rem := t.Reminder
			rem.Channel = ch
			rem.ID = scheduler.ReminderID(rem.Occurrence, string(ch))
			if blk, until, held := scheduler.Withheld(m.sup, rem, now); held {
				reason := ""
				if m.kept() {
					reason = blk.Reason()
				}
				m.withhold(now, t, ch, blk.Kind, reason)
				if !until.IsZero() && (wake.IsZero() || until.Before(wake)) {
					wake = until
				}
				continue
			}
			m.markers[t.Marker] |= bit
			pd := m.newPending(rem)
			m.q.push(event{at: now, kind: evDecide, p: pd, gen: pd.gen})
		}
	}
	next := p.Reschedule(wake)
	if next.IsZero() {
		return
	}
	at := scheduler.DueMinute(next)
	if floor := now.Truncate(time.Minute).Add(time.Minute); at.Before(floor) {
		at = floor
	}
	m.q.push(event{at: at, kind: evDue, sub: i, gen: sub.gen})
}

// newPending is a pending reminder for rem, reusing one decided for good.
// Its generation goes on from the last use, so that the queue's stale
// events for the earlier reminder stay stale.
func (m *sim) newPending(rem domain.Reminder) *pending {
	n := len(m.free)
	if n == 0 {
		return &pending{rem: rem}
	}
	p := m.free[n-1]
	m.free = m.free[:n-1]
	*p = pending{rem: rem, gen: p.gen, listed: p.listed}
	return p
}

// withhold counts an occurrence's channel the sweep did not publish, once,
// unless it was published before the suppression came.
func (m *sim) withhold(now time.Time, t scheduler.Target, ch domain.Channel, rule, reason string) {
	published, bit := uint8(1)<<channelIndex(ch), uint8(1)<<(channelIndex(ch)+len4)
	if m.markers[t.Marker]&(bit|published) != 0 {
		return
	}
	m.markers[t.Marker] |= bit
	rem := t.Reminder
	rem.Channel = ch
	if m.kept() {
		rem.ID = scheduler.ReminderID(rem.Occurrence, string(ch))
	}
	m.record(now, rem, StatusWithheld, rule, reason, time.Time{}, 0)
}

// decide is what a channel worker does with a reminder at now
// (dispatcher.Worker): the case or agreement still open, an address, the
// text, the contact rules against the ledger (which defer or cap), the
// suppressions at the fence, then the provider. It reports whether the
// reminder is held to be decided again; if not, it is done with.
func (m *sim) decide(now time.Time, p *pending) (held bool) {
	p.parked = false
	rem := p.rem
	var c domain.Case
	for _, x := range m.cases {
		if x.LoanID == rem.LoanID {
			c = x
			break
		}
	}
	var agr *domain.Agreement
	if rem.AgreementID != "" {
		for i := range m.agrs {
			if m.agrs[i].a.ID == rem.AgreementID && m.agrs[i].active {
				agr = &m.agrs[i].a
			}
		}
		if agr == nil {
			m.record(now, rem, StatusSuppressed, "agreement_ended", "agreement_ended:"+rem.AgreementID, time.Time{}, 0)
			return false
		}
	} else if c.LoanID == "" || !c.Open() {
		m.record(now, rem, StatusSuppressed, "case_closed", "case_closed:"+c.Status, time.Time{}, 0)
		return false
	}
	to := dispatcher.Address(rem.Channel, m.b)
	if to == "" {
		m.record(now, rem, StatusFailed, "no_address", "no_address: borrower has no "+addressKind(rem.Channel), time.Time{}, 0)
		return false
	}
	if p.text == nil {
		p.text = m.renders(now, rem, c, agr)
	}
	if err := p.text.err; err != nil {
		m.record(now, rem, StatusFailed, "template", "template: "+err.Error(), time.Time{}, 0)
		return false
	}
	// The ledger's reservation (dispatcher.Ledger.Reserve).
	m.ledger.Attempts = slices.DeleteFunc(m.ledger.Attempts, func(a compliance.Attempt) bool { return a.ID == rem.ID })
	// Pruned in place: the ledger keeps its array rather than shedding its
	// front and growing a new one every few attempts.
	pruned := m.ledger.Prune(now, m.keepFor).Attempts
	m.ledger.Attempts = m.ledger.Attempts[:copy(m.ledger.Attempts, pruned)]
	// The reasons are worded only for a schedule kept: they cost more than
	// the decision, and only a schedule shows them.
	var d compliance.Decision
	if m.kept() {
		d = m.s.Rules.Check(now, rem, m.b, m.ledger)
	} else {
		d = m.s.Rules.CheckWithoutReason(now, rem, m.b, m.ledger)
	}
	if !d.Allowed {
		if d.Status != domain.Deferred {
			m.record(now, rem, StatusCapped, d.Rule, d.Reason, d.Until, 0)
			return false
		}
		m.hold(now, p, d)
		return true
	}
	m.ledger.Attempts = append(m.ledger.Attempts, compliance.Attempt{ID: rem.ID, Channel: rem.Channel, LoanID: rem.LoanID, At: now, Outcome: compliance.OutcomePending})
	defer m.changed(now)
	if blk, ok := m.sup.Blocking(rem, to, now); ok {
		m.outcome(rem.ID, compliance.OutcomeCanceled)
		m.record(now, rem, StatusSuppressed, blk.Kind, blk.Reason(), time.Time{}, 0)
		return false
	}
	if rem.Channel == domain.Voice {
		outcome := compliance.OutcomeNoAnswer
		if answered(rem.ID, m.o.CallAnswered) {
			outcome = compliance.OutcomeConnected
		}
		m.outcome(rem.ID, outcome)
	}
	segments := 0
	if rem.Channel == domain.SMS {
		// The text as sent, for what it costs; it rendered before.
		segments = m.segments(now, rem, c, agr, p.text)
	}
	m.record(now, rem, StatusSent, "", "", time.Time{}, segments)
	return false
}

// hold holds a reminder that a deferring rule stops now. Live, it comes
// back at most MaxDefer later (or when the rule ends) and is decided
// again; decided again with nothing changed before the rule ends, it is
// deferred again to the same instant, so it waits parked until then, and
// only a change of the borrower's state (changed) brings it back
// earlier, at its next return.
func (m *sim) hold(now time.Time, p *pending, d compliance.Decision) {
	if !p.deferred || !d.Until.Equal(p.lastUntil) {
		status := StatusDeferred
		if p.deferred {
			status = "" // a new deferral of a reminder already counted: schedule entry only
		}
		m.record(now, p.rem, status, d.Rule, d.Reason, d.Until, 0)
		p.deferred, p.lastUntil = true, d.Until
	}
	p.parked, p.decidedAt, p.until = true, now, d.Until
	p.gen++
	at := now.Add(max(d.Until.Sub(now), time.Second))
	m.q.push(event{at: at, kind: evDecide, p: p, gen: p.gen})
	if !p.listed {
		p.listed = true
		m.parked = append(m.parked, p)
	}
}

// changed brings parked reminders back at their next return after a
// change of the borrower's state at now (a send, a population event):
// live, a deferred reminder returns every MaxDefer (the last wait ends
// when the rule does) and is decided against the state as it is then.
func (m *sim) changed(now time.Time) {
	still := m.parked[:0]
	for _, p := range m.parked {
		if !p.parked {
			p.listed = false // decided since; hold lists it again if need be
			continue
		}
		wait := min(max(p.until.Sub(p.decidedAt), time.Second), m.s.MaxDefer)
		ret := p.decidedAt.Add((now.Sub(p.decidedAt)/wait + 1) * wait)
		if ret.Before(p.until) {
			p.gen++
			p.parked, p.listed = false, false
			m.q.push(event{at: ret, kind: evDecide, p: p, gen: p.gen})
			continue
		}
		still = append(still, p)
	}
	m.parked = still
}

// outcome notes how an attempt ended (dispatcher.Ledger.Outcome).
func (m *sim) outcome(id, outcome string) {
	for i := range m.ledger.Attempts {
		if a := &m.ledger.Attempts[i]; a.ID == id && a.Outcome != compliance.OutcomeConnected {
			a.Outcome = outcome
		}
	}
}

// kept reports whether the borrower's schedule is kept: only then are
// the reasons of the holds worded.
func (m *sim) kept() bool { return m.sched != nil }

// record counts a decision and, for a kept borrower, lists it. An empty
// status lists without counting.
func (m *sim) record(now time.Time, rem domain.Reminder, status, rule, reason string, until time.Time, segments int) {
	if status == "" && m.sched == nil {
		return // a deferral already counted, of a schedule not kept
	}
	if day := m.day(now); day >= 0 && status != "" {
		ch := channelIndex(rem.Channel)
		x := &m.agg.days[day][ch]
		si := statusIndex(status)
		x.counts[si]++
		if status == StatusSent {
			x.hours[now.In(m.cal.zone).Hour()]++
			x.segments += segments
			m.agg.segments += segments
		}
		if rule != "" {
			x.addRule(si, rule, 1)
		}
		if status == StatusDeferred && !until.IsZero() {
			x.addUntil(until.Truncate(time.Hour).Unix(), 1)
		}
	}
	if m.sched == nil {
		return
	}
	if len(m.sched.Entries) >= MaxEntries {
		m.sched.Truncated = true
		return
	}
	if status == "" {
		status = StatusDeferred
	}
	e := Entry{At: now, ReminderID: rem.ID, LoanID: rem.LoanID, Step: rem.Step, Channel: rem.Channel, Status: status,
		Rule: rule, Reason: reason, Segments: segments}
	if !until.IsZero() {
		u := until
		e.Until = &u
	}
	m.sched.Entries = append(m.sched.Entries, e)
}

// day is the run's day of now, or -1 outside the run. A borrower's
// decisions come in time order, so the day of the last one is tried first.
func (m *sim) day(now time.Time) int {
	st, s := m.cal.secs, now.Unix()
	if h := m.dayHint; h < len(st)-1 && st[h] <= s && s < st[h+1] {
		return h
	}
	d := m.cal.day(now)
	if d >= 0 {
		m.dayHint = d
	}
	return d
}

// answered reports whether the call of reminder id connects, for a share
// of calls: a hash of the id, so the same calls connect in every run.
func answered(id string, share float64) bool {
	if share <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%10000) < share*10000
}

func addressKind(ch domain.Channel) string {
	if ch == domain.Email {
		return "email"
	}
	return "phone"
}
