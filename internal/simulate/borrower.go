package simulate

import (
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/tz"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// Event kinds, in the order they are handled at one instant: what intake
// applies first, then what the sweep publishes, then what the workers
// decide.
const (
	evChange = iota // a population event: a loan paid, an agreement started, a consent
	evDue           // a subject comes due in the due index
	evDecide        // a worker decides a published reminder
)

// event is one entry of a borrower's time-ordered queue.
type event struct {
	at   time.Time
	kind int
	seq  int
	sub  int      // evDue: the subject; evChange: the change
	p    *pending // evDecide
	gen  int      // evDue, evDecide: stale when it differs from the current one
}

func (e *event) before(f *event) bool {
	if !e.at.Equal(f.at) {
		return e.at.Before(f.at)
	}
	if e.kind != f.kind {
		return e.kind < f.kind
	}
	return e.seq < f.seq
}

// queue is a binary heap of events (no interface boxing, reused between
// borrowers).
type queue struct {
	es  []event
	seq int
}

func (q *queue) reset() { q.es, q.seq = q.es[:0], 0 }

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.es = append(q.es, e)
	i := len(q.es) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.es[i].before(&q.es[p]) {
			break
		}
		q.es[i], q.es[p] = q.es[p], q.es[i]
		i = p
	}
}

func (q *queue) pop() (event, bool) {
	if len(q.es) == 0 {
		return event{}, false
	}
	top := q.es[0]
	last := len(q.es) - 1
	q.es[0] = q.es[last]
	q.es = q.es[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.es[l].before(&q.es[m]) {
			m = l
		}
		if r < last && q.es[r].before(&q.es[m]) {
			m = r
		}
		if m == i {
			return top, true
		}
		q.es[i], q.es[m] = q.es[m], q.es[i]
		i = m
	}
}

// subject is a loan or an agreement in the due index.
type subject struct {
	loan   int // index into sim.cases, or -1
	agr    int // index into sim.agrs, or -1
	gen    int // the current entry; older due events are stale
	active bool
}

// agreementState is an agreement of the borrower and when it starts.
type agreementState struct {
	a      domain.Agreement
	active bool
}

// change is a population event during the run.
type change struct {
	kind int
	i    int // the loan paid (sim.cases), the agreement started (sim.agrs), the consent given (sim.consents)
}

// Kinds of change.
const (
	changePaid      = iota // a loan is paid
	changeAgreement        // an agreement starts
	changeCheck            // the number's check arrives (borrower.upserted)
	changeConsent          // a consent arrives (borrower.consented)
)

// pending is a published reminder on its way through a worker.
type pending struct {
	rem domain.Reminder
	gen int
	// Deferred reminders wait parked: decidedAt is when it was last
	// decided, until when the deferring rule ends.
	parked           bool
	decidedAt, until time.Time
	deferred         bool // counted as deferred already
	lastUntil        time.Time
	listed           bool  // in sim.parked
	text             *text // its text's rendering, once known
}

// sim simulates one borrower at a time; each worker has one and reuses
// its buffers.
type sim struct {
	s   *Setup
	o   *Options
	cal *calendar
	agg *aggregate

	b        domain.Borrower
	profile  dispatcher.BorrowerData // as the population gives it
	consents []domain.Consent        // the population's, given during the run
	loc      *time.Location
	cases    []domain.Case
	agrs     []agreementState
	subjects []subject
	changes  []change
	sup      domain.Suppressions
	ledger   compliance.Ledger
	markers  map[string]uint8    // occurrence marker -> channels published (low bits) and counted as withheld (high bits)
	rendered map[renderKey]*text // whether a text renders, and its last rendering
	parked   []*pending
	free     []*pending // decided for good, to reuse
	dayHint  int        // the day of the last decision recorded
	q        queue
	plan     scheduler.Plan // planned into again and again (its targets' array is reused)
	sched    *Schedule
	keepFor  time.Duration
}

func newSim(s *Setup, o *Options, cal *calendar, agg *aggregate) *sim {
	return &sim{s: s, o: o, cal: cal, agg: agg, markers: map[string]uint8{}, rendered: map[renderKey]*text{},
		keepFor: max(s.Rules.Keep(), 24*time.Hour)}
}

// run simulates borrower pb over the whole span; it returns the
// borrower's schedule when kept.
func (m *sim) run(pb Borrower, kept bool) *Schedule {
	m.load(pb, kept)
	end := m.cal.end()
	for {
		e, ok := m.q.pop()
		if !ok || !e.at.Before(end) {
			break
		}
		switch e.kind {
		case evChange:
			m.apply(e.at, m.changes[e.sub])
		case evDue:
			if sub := &m.subjects[e.sub]; sub.gen == e.gen && sub.active {
				m.due(e.at, e.sub)
			}
		case evDecide:
			if e.p.gen == e.gen && !m.decide(e.at, e.p) {
				m.free = append(m.free, e.p)
			}
		}
	}
	return m.sched
}

// load sets the borrower's state at the start of the run, as intake
// would have stored it, and queues what is due.
func (m *sim) load(pb Borrower, kept bool) {
	start := m.cal.start()
	m.cases, m.agrs, m.subjects, m.changes = m.cases[:0], m.agrs[:0], m.subjects[:0], m.changes[:0]
	m.q.reset()
	m.loadProfile(pb, start)
	m.loc = m.s.Zone
	if pb.Timezone != "" {
		if l, err := tz.Load(pb.Timezone); err == nil {
			m.loc = l
		}
	}
	for _, p := range m.parked {
		p.listed = false
	}
	m.parked = m.parked[:0]
	m.sup = domain.Suppressions{BorrowerID: pb.BorrowerID}
	m.ledger = compliance.Ledger{}
	clear(m.markers)
	clear(m.rendered)
	m.sched = nil
	if kept {
		m.sched = &Schedule{BorrowerID: pb.BorrowerID, Timezone: m.loc.String(), Entries: []Entry{}}
	}
	for i, l := range pb.Loans {
		m.b.LoanIDs = append(m.b.LoanIDs, l.LoanID)
		c := domain.Case{LoanID: l.LoanID, BorrowerID: pb.BorrowerID, DueDate: l.DueDate, AmountDue: l.AmountDue,
			Currency: l.Currency, Status: l.Status, Policy: l.Policy}
		m.cases = append(m.cases, c)
		if l.PaidOn != "" {
			if at := m.dayStart(l.PaidOn); at.After(start) {
				m.later(at, change{kind: changePaid, i: i})
			} else {
				m.cases[i].Status = domain.LoanPaid
			}
		}
		m.subjects = append(m.subjects, subject{loan: i, agr: -1, active: true})
	}
	for i, pa := range pb.Agreements {
		a := domain.Agreement{ID: pa.AgreementID, BorrowerID: pb.BorrowerID, Kind: pa.Kind, LoanIDs: pa.LoanIDs,
			Installments: pa.Installments, Status: domain.AgreementActive}
		m.agrs = append(m.agrs, agreementState{a: a})
		m.subjects = append(m.subjects, subject{loan: -1, agr: i})
		if pa.ActivatedOn != "" {
			if at := m.dayStart(pa.ActivatedOn); at.After(start) {
				m.later(at, change{kind: changeAgreement, i: i})
				continue
			}
		}
		m.activate(start, i)
	}
	for _, mu := range pb.Mutes {
		m.sup.Mutes = append(m.sup.Mutes, domain.Mute{ID: "mute-" + itoa(len(m.sup.Mutes)+1), Channels: mu.Channels, Until: mu.Until, Reason: "population"})
	}
	for _, ch := range pb.OptedOut {
		m.sup.OptOuts = append(m.sup.OptOuts, domain.OptOut{Channel: ch, Source: "population", At: start})
	}
	if pb.Ceased {
		m.sup.Ceased = &start
	}
	for i := range m.subjects {
		if m.subjects[i].loan >= 0 {
			m.reindex(start, i)
		}
	}
}

// loadProfile stores the borrower's profile, phone facts and consents as
// intake stores borrower.upserted and borrower.consented
// (dispatcher.BorrowerData.ApplyTo, dispatcher.AddConsent): those dated
// up to the start are on record from it, each consent stored as it
// arrived; a later number check or consent is queued to arrive at its
// time.
func (m *sim) loadProfile(pb Borrower, start time.Time) {
	m.b = domain.Borrower{ID: pb.BorrowerID}
	m.profile = pb.BorrowerData
	d := pb.BorrowerData
	if d.PhoneCheckedAt != "" {
		if checked, err := time.Parse(time.RFC3339, d.PhoneCheckedAt); err == nil && checked.After(start) {
			d.PhoneCheckedAt, d.PhoneCheck = "", ""
			m.later(checked, change{kind: changeCheck})
		}
	}
	if d.ApplyTo(&m.b, start) != nil {
		// Only a check intake would refuse fails, and a population's are
		// checked before a run (and a generated one's are valid): should
		// one fail, the borrower is simulated without it.
		d.PhoneCheckedAt, d.PhoneCheck = "", ""
		_ = d.ApplyTo(&m.b, start)
	}
	m.consents = m.consents[:0]
	for _, cd := range pb.Consents {
		at, err := time.Parse(time.RFC3339, cd.At)
		if err != nil {
			continue // refused when the population was checked
		}
		m.consents = append(m.consents, domain.Consent{Channel: domain.Channel(cd.Channel), At: at.UTC()})
	}
	slices.SortStableFunc(m.consents, func(a, b domain.Consent) int { return a.At.Compare(b.At) })
	for i, c := range m.consents {
		if c.At.After(start) {
			m.later(c.At, change{kind: changeConsent, i: i})
			continue
		}
		m.b.Consents = dispatcher.AddConsent(m.b.Consents, c, c.At)
	}
}

// later queues change c to happen at at.
func (m *sim) later(at time.Time, c change) {
	m.changes = append(m.changes, c)
	m.q.push(event{at: at, kind: evChange, sub: len(m.changes) - 1})
}

// dayStart is 00:00 of date in the borrower's zone.
func (m *sim) dayStart(date string) time.Time {
	t, err := scheduler.ParseAnchor(date, m.loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// reindex puts a subject in the due index for the next sweep, as intake
// does after a change.
func (m *sim) reindex(now time.Time, i int) {
	sub := &m.subjects[i]
	sub.gen++
	sub.active = sub.loan >= 0 || m.agrs[sub.agr].active
	m.q.push(event{at: scheduler.DueMinute(now), kind: evDue, sub: i, gen: sub.gen})
}

// activate starts agreement i: its hold, its loans' cases, its own
// reminders.
func (m *sim) activate(now time.Time, i int) {
	st := &m.agrs[i]
	st.active = true
	m.sup.Holds = append(m.sup.Holds, domain.Hold{AgreementID: st.a.ID, Kind: st.a.Kind, LoanIDs: st.a.LoanIDs, Since: now})
	for j := range m.cases {
		if slices.Contains(st.a.LoanIDs, m.cases[j].LoanID) {
			m.cases[j].AgreementID = st.a.ID
		}
	}
	for j, sub := range m.subjects {
		if sub.agr == i || sub.loan >= 0 && slices.Contains(st.a.LoanIDs, m.cases[sub.loan].LoanID) {
			m.reindex(now, j)
		}
	}
}

// apply applies a population event, as intake would.
func (m *sim) apply(now time.Time, c change) {
	switch c.kind {
	case changePaid:
		m.cases[c.i].Status = domain.LoanPaid
		for j, sub := range m.subjects {
			if sub.loan == c.i {
				m.reindex(now, j)
			}
		}
	case changeAgreement:
		m.activate(now, c.i)
	case changeCheck:
		_ = m.profile.ApplyTo(&m.b, now) // due now: not in the future
	case changeConsent:
		m.b.Consents = dispatcher.AddConsent(m.b.Consents, m.consents[c.i], now)
	}
	m.changed(now)
}

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

// renderKey names what a text's rendering depends on besides the day.
type renderKey struct {
	template    string
	channel     domain.Channel
	loan, agr   string
	installment int
}

// text is what the rendering of a reminder's text gave: whether it
// failed, and, for the context it was last rendered with, its SMS
// segments.
type text struct {
	err      error
	data     templates.Context
	segments int
}

// renders renders the reminder's text as the worker does before the
// contact rules, to find out whether it fails: once per template,
// channel and record, since only the day counts change from one reminder
// of a loan to the next and they never make a text fail. The pending
// reminder keeps what it returns for its next decisions.
func (m *sim) renders(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement) *text {
	key := renderKey{template: rem.Template, channel: rem.Channel, loan: rem.LoanID, agr: rem.AgreementID, installment: rem.Installment}
	if t, ok := m.rendered[key]; ok {
		return t
	}
	t := &text{data: m.context(now, rem, c, agr)}
	t.segments, t.err = m.render(rem, t.data)
	m.rendered[key] = t
	return t
}

// segments counts the SMS segments of the reminder's text as sent at now;
// t is its text's rendering (see renders). The text is rendered again
// only when its context differs from the last rendering's: the same
// template, channel, locale and context give the same text.
func (m *sim) segments(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement, t *text) int {
	data := m.context(now, rem, c, agr)
	if t.data == data {
		return t.segments
	}
	t.data = data
	t.segments, _ = m.render(rem, data)
	return t.segments
}

// context is the reminder's template context at now, as the worker
// builds it.
func (m *sim) context(now time.Time, rem domain.Reminder, c domain.Case, agr *domain.Agreement) templates.Context {
	return templates.ContextFor(m.b, c, agr, rem.Step, rem.Installment, now, m.s.Zone)
}

// render renders the reminder's text with data, as the worker does, and
// counts its SMS segments.
func (m *sim) render(rem domain.Reminder, data templates.Context) (int, error) {
	out, err := m.s.Templates.Render(rem.Template, rem.Channel, m.b.Locale, data)
	if err != nil || rem.Channel != domain.SMS {
		return 0, err
	}
	_, segments := templates.Segments(out.Text)
	return segments, nil
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

func itoa(n int) string {
	var b strings.Builder
	if n == 0 {
		return "0"
	}
	var d [20]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	b.Write(d[i:])
	return b.String()
}
