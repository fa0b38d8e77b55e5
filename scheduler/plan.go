package scheduler

import (
	"fmt"
	"strconv"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Planner decides what a due subject needs at a given time, from its
// record alone: which occurrences are live, on which channels, and when the
// subject is due next. It does no I/O, so the sweep (which adds reading,
// publishing and the due index around it) and the dry run (which runs it
// on a virtual clock) plan exactly alike. The zero value plans nothing;
// build it with NewPlanner or fill every field.
type Planner struct {
	// Policies are the compiled policies.
	Policies Policies
	// DefaultPolicy serves cases that name no policy.
	DefaultPolicy string
	// AgreementPolicy serves agreements that name no policy; "" gives
	// them none.
	AgreementPolicy string
	// CatchUp is how long a one-shot occurrence stays live after it was
	// due.
	CatchUp time.Duration
}

// NewPlanner returns the planner of the given policies with the defaults
// Options documents: DefaultPolicyID for cases without a policy, no
// agreement policy, DefaultCatchUp.
func NewPlanner(pols Policies) Planner {
	return Planner{Policies: pols, DefaultPolicy: DefaultPolicyID, CatchUp: DefaultCatchUp}
}

// Plan is what a due subject needs at one instant.
type Plan struct {
	// Drop, when not empty, says why the subject leaves the due index
	// (closed case, ended agreement, no usable policy, bad date).
	Drop string
	// BorrowerID is the subject's borrower.
	BorrowerID string
	// Targets are the live occurrences, each to be sent once per channel.
	Targets []Target
	// Next is the earliest next occurrence over all steps (zero: none).
	Next time.Time
	// Held counts the reminders of live occurrences withheld because an
	// active agreement covers the loan (collection policies only).
	Held int
	// Problems are records the plan had to leave out (a bad instalment
	// date, an unknown policy): the sweep logs them.
	Problems []error
}

// Target is one live occurrence to send on its channels.
type Target struct {
	// Marker is the occurrence's durable identity: the occurrence id with
	// the anchor date, so that a loan whose due date moves (a new cycle on
	// the same loan id) gets fresh occurrences. The sweep keeps a marker
	// per occurrence of the channels already published.
	Marker string
	// Reminder is the occurrence's reminder without its channel and id
	// (ReminderID adds them per channel).
	Reminder domain.Reminder
	// Channels are the step's channels.
	Channels []domain.Channel
}

// consider keeps t as Next when it is earlier.
func (p *Plan) consider(t time.Time, ok bool) {
	if ok && (p.Next.IsZero() || t.Before(p.Next)) {
		p.Next = t
	}
}

// markerKey is the occurrences-bucket key of an occurrence. It adds the
// anchor date to the occurrence id: when a loan's due date moves (a new
// billing cycle on the same loan id) its occurrences are new ones.
func markerKey(kind, id, step, occ, anchorDate string) string {
	return kind + "." + store.Token(id) + "." + store.Token(step) + "." + occ + "." + store.Token(anchorDate)
}

// PlanLoan plans a loan's case at now, its due date read in loc: the
// latest live occurrence of every step of the case's due-date policy
// (Step.Latest), and the earliest next one. A closed case, or one without
// a usable policy or due date, is dropped. An active agreement on the loan
// withholds collection reminders (counted in Held); the occurrences are
// still computed so that, when it breaks, the policy resumes at the
// current day past due.
func (pl Planner) PlanLoan(c domain.Case, loc *time.Location, now time.Time) Plan {
	var p Plan
	pl.PlanLoanInto(&p, c, loc, now)
	return p
}

// PlanLoanInto is PlanLoan into p, whose Targets array it reuses (the
// rest of p is reset): a caller that plans over and over, as the dry run
// does millions of times, allocates the targets once. The targets are
// valid until p is planned into again.
func (pl Planner) PlanLoanInto(p *Plan, c domain.Case, loc *time.Location, now time.Time) {
	*p = Plan{Targets: p.Targets[:0]}
	if !c.Open() {
		p.Drop = "case closed"
		return
	}
	pid := c.Policy
	if pid == "" {
		pid = pl.DefaultPolicy
	}
	pol, ok := pl.Policies[pid]
	if !ok || pol.Anchor != AnchorDueDate {
		p.Drop = "no due-date policy " + strconv.Quote(pid)
		p.Problems = []error{fmt.Errorf("loan %s: case has no usable due-date policy %q", c.LoanID, pid)}
		return
	}
	anchor, err := ParseAnchor(c.DueDate, loc)
	if err != nil {
		p.Drop, p.Problems = "bad due date", []error{fmt.Errorf("loan %s: %w", c.LoanID, err)}
		return
	}
	held := holds(pol, c)
	p.BorrowerID = c.BorrowerID
	for _, st := range pol.Steps {
		occ, live, next, more := st.around(anchor, now, pl.CatchUp)
		p.consider(next, more)
		if !live {
			continue
		}
		if held {
			p.Held += len(st.Channels)
			continue
		}
		p.Targets = append(p.Targets, Target{
			Marker: markerKey(KindLoan, c.LoanID, st.ID, strconv.Itoa(occ.K), c.DueDate),
			Reminder: domain.Reminder{
				Occurrence: LoanOccurrenceID(c.LoanID, st.ID, occ.K), BorrowerID: c.BorrowerID, LoanID: c.LoanID,
				Category: pol.Category, Policy: pol.ID, Step: st.ID, Template: st.Template,
				K: occ.K, DueAt: occ.At, QueuedAt: now,
			},
			Channels: st.Channels,
		})
	}
}

// Holds reports whether PlanLoan withholds the reminders of case c: an
// active agreement covers the loan and its policy is a collection policy.
// The dry run plans such a case without its agreement to name what is
// withheld.
func (pl Planner) Holds(c domain.Case) bool {
	pid := c.Policy
	if pid == "" {
		pid = pl.DefaultPolicy
	}
	pol, ok := pl.Policies[pid]
	return ok && holds(pol, c)
}

func holds(pol *Policy, c domain.Case) bool {
	return pol.Category == domain.Collection && c.AgreementID != ""
}

// PlanAgreement plans an active agreement at now, its instalment dates
// read in loc: the latest live occurrence of every step of its instalment
// policy for every instalment, and the earliest next one. An agreement
// that is not active, or has no usable policy, is dropped; an instalment
// with a bad date is left out (and named in Problems).
func (pl Planner) PlanAgreement(a domain.Agreement, loc *time.Location, now time.Time) Plan {
	var p Plan
	pl.PlanAgreementInto(&p, a, loc, now)
	return p
}

// PlanAgreementInto is PlanAgreement into p, whose Targets array it
// reuses (see PlanLoanInto).
func (pl Planner) PlanAgreementInto(p *Plan, a domain.Agreement, loc *time.Location, now time.Time) {
	*p = Plan{Targets: p.Targets[:0]}
	if a.Status != domain.AgreementActive {
		p.Drop = "agreement " + a.Status
		return
	}
	pid := a.Policy
	if pid == "" {
		pid = pl.AgreementPolicy
	}
	if pid == "" {
		p.Drop = "no agreement policy"
		return
	}
	pol, ok := pl.Policies[pid]
	if !ok || pol.Anchor != AnchorInstallment {
		p.Drop = "no instalment policy " + strconv.Quote(pid)
		p.Problems = []error{fmt.Errorf("agreement %s: no usable instalment policy %q", a.ID, pid)}
		return
	}
	loanID := ""
	if len(a.LoanIDs) > 0 {
		loanID = a.LoanIDs[0]
	}
	p.BorrowerID = a.BorrowerID
	for i, inst := range a.Installments {
		n := i + 1
		anchor, err := ParseAnchor(inst.DueDate, loc)
		if err != nil {
			p.Problems = append(p.Problems, fmt.Errorf("agreement %s instalment %d: %w", a.ID, n, err))
			continue
		}
		for _, st := range pol.Steps {
			occ, live, next, more := st.around(anchor, now, pl.CatchUp)
			p.consider(next, more)
			if !live {
				continue
			}
			occPart := strconv.Itoa(n) + "-" + strconv.Itoa(occ.K)
			p.Targets = append(p.Targets, Target{
				Marker: markerKey(KindAgreement, a.ID, st.ID, occPart, inst.DueDate),
				Reminder: domain.Reminder{
					Occurrence: InstallmentOccurrenceID(a.ID, st.ID, n, occ.K),
					BorrowerID: a.BorrowerID, LoanID: loanID, AgreementID: a.ID,
					Category: pol.Category, Policy: pol.ID, Step: st.ID, Template: st.Template,
					K: occ.K, Installment: n, DueAt: occ.At, QueuedAt: now,
					Snapshot: &domain.Snapshot{Agreement: &domain.AgreementScope{ID: a.ID, Kind: a.Kind, Installment: inst}},
				},
				Channels: st.Channels,
			})
		}
	}
}

// Reschedule is when a subject planned p is due again, given wake, the
// earliest end of a mute that withheld one of its reminders (zero: none):
// the earlier of the two, or zero when nothing is left to send.
func (p Plan) Reschedule(wake time.Time) time.Time {
	next := p.Next
	if !wake.IsZero() && (next.IsZero() || wake.Before(next)) {
		next = wake
	}
	return next
}

// Withheld reports whether sup withholds rem at publish time (the sweep
// publishes no new occurrence in a suppressed scope), and, when the
// suppression is a mute with an end, that end: the subject is due again
// then, and a still-live occurrence goes out on that channel.
func Withheld(sup domain.Suppressions, rem domain.Reminder, now time.Time) (blk domain.Block, wake time.Time, withheld bool) {
	blk, withheld = sup.Blocking(rem, "", now)
	if !withheld || blk.Kind != "mute" {
		return blk, time.Time{}, withheld
	}
	for _, m := range sup.Mutes {
		if m.ID == blk.ID && m.Until != nil {
			return blk, *m.Until, true
		}
	}
	return blk, time.Time{}, true
}

// DueMinute is the minute a subject due at t is listed by a sweep: the
// due index rounds up to the minute, so nothing is listed early.
func DueMinute(t time.Time) time.Time { return ceilMinute(t) }

// PlannerFor compiles the policies of cfg and returns the planner that
// forbear serve sweeps with: cases without a policy get
// scheduler.default_policy, else "standard", else the first policy
// anchored on due dates; agreements get agreements.policy; one-shot steps
// stay live for scheduler.catch_up.
func PlannerFor(cfg config.Config) (Planner, error) {
	pols, err := Compile(cfg.Policies)
	if err != nil {
		return Planner{}, err
	}
	def := cfg.Scheduler.DefaultPolicy
	if _, ok := pols.Get(DefaultPolicyID); def == "" && !ok {
		for _, p := range cfg.Policies {
			if cp, ok := pols.Get(p.ID); ok && cp.Anchor == AnchorDueDate {
				def = p.ID
				break
			}
		}
	}
	if def == "" {
		def = DefaultPolicyID
	}
	catchUp := cfg.Scheduler.CatchUp.D()
	if catchUp <= 0 {
		catchUp = DefaultCatchUp
	}
	return Planner{Policies: pols, DefaultPolicy: def, AgreementPolicy: cfg.Agreements.Policy, CatchUp: catchUp}, nil
}
