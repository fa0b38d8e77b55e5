package simulate

import (
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/tz"
	"github.com/forbear/forbear/scheduler"
)

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
	profile  intake.BorrowerData // as the population gives it
	consents []domain.Consent    // the population's, given during the run
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
// (intake.BorrowerData.ApplyTo, intake.AddConsent): those dated
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
		m.b.Consents = intake.AddConsent(m.b.Consents, c, c.At)
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
		m.b.Consents = intake.AddConsent(m.b.Consents, m.consents[c.i], now)
	}
	m.changed(now)
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
