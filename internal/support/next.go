package support

import (
	"context"
	"sort"
	"time"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// MaxNext bounds the upcoming reminders a borrower page lists.
const MaxNext = 20

// Upcoming is a reminder the scheduler will send next.
type Upcoming struct {
	LoanID      string           `json:"loan_id"`
	AgreementID string           `json:"agreement_id,omitempty"`
	Policy      string           `json:"policy"`
	Step        string           `json:"step"`
	Template    string           `json:"template"`
	Channels    []domain.Channel `json:"channels"`
	At          time.Time        `json:"at"`
	// Checks say, per channel, what would happen at At as things stand.
	Checks   []Check `json:"checks"`
	category domain.Category
}

// What a Check found.
const (
	CheckAllowed    = "allowed"
	CheckDeferred   = string(domain.Deferred)
	CheckCapped     = string(domain.Capped)
	CheckSuppressed = string(domain.Suppressed)
	// CheckFailed: the borrower has no address on the channel.
	CheckFailed = string(domain.Failed)
)

// Check is what would happen to an upcoming reminder on one channel at its
// time, given what is stored now: a suppression in force then stops it
// (suppressed); otherwise the compliance rules, run against the current
// contact ledger as of that time, let it go (allowed), hold it until a
// window opens (deferred) or stop it (capped). Contacts made meanwhile can
// change the answer.
type Check struct {
	Channel domain.Channel `json:"channel"`
	Status  string         `json:"status"`
	// Rule is the rule or suppression that decided: send_window,
	// blackout, cap, conversation, connected_per_day; mute, agreement,
	// opt_out, ceased; no_address.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Until is when a deferred reminder would go, or when a cap frees.
	Until *time.Time `json:"until,omitempty"`
}

// next lists the borrower's upcoming reminders: for each open case (and
// active agreement) the next occurrence of each step, soonest first. A case
// or instalment whose stored date the scheduler refuses
// (scheduler.ParseAnchor) has no upcoming reminder, as the sweep sends it
// none; Step.Next takes a bounded number of steps whatever the dates, so
// the view answers at once.
func (s *Service) next(ctx context.Context, b domain.Borrower, now time.Time) ([]Upcoming, error) {
	pols := s.o.Policies
	loc := templates.BorrowerZone(b, s.o.DefaultZone)
	out := []Upcoming{}
	add := func(p *scheduler.Policy, anchorDate, loanID, agreementID string) {
		anchor, err := scheduler.ParseAnchor(anchorDate, loc)
		if err != nil {
			return
		}
		for _, st := range p.Steps {
			if at, ok := st.Next(anchor, now); ok {
				out = append(out, Upcoming{LoanID: loanID, AgreementID: agreementID, Policy: p.ID,
					Step: st.ID, Template: st.Template, Channels: st.Channels, At: at, category: p.Category})
			}
		}
	}
	agreements := map[string]bool{}
	for _, id := range b.LoanIDs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := s.o.State.Case(ctx, id)
		if err != nil || !c.Open() {
			continue
		}
		if c.AgreementID != "" {
			agreements[c.AgreementID] = true
		}
		policy := c.Policy
		if policy == "" {
			policy = scheduler.DefaultPolicyID
		}
		if p, ok := pols.Get(policy); ok && p.Anchor != scheduler.AnchorInstallment {
			if c.AgreementID != "" && p.Category == domain.Collection {
				continue // held by the agreement
			}
			add(p, c.DueDate, c.LoanID, "")
		}
	}
	for id := range agreements {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ag, err := s.o.State.Agreement(ctx, id)
		if err != nil || ag.Status != domain.AgreementActive {
			continue
		}
		policy := ag.Policy
		if policy == "" {
			policy = s.o.AgreementPolicy
		}
		p, ok := pols.Get(policy)
		if !ok {
			continue
		}
		for _, in := range ag.Installments {
			loan := ""
			if len(ag.LoanIDs) > 0 {
				loan = ag.LoanIDs[0]
			}
			add(p, in.DueDate, loan, ag.ID)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	if len(out) > MaxNext {
		out = out[:MaxNext]
	}
	return out, nil
}

// checks decides u on each of its channels at u.At, the way the worker
// would if it got the reminder then: the address, the suppressions in
// force at that time, and the compliance rules (compliance.Rules.Check)
// against the ledger as it stands.
func (s *Service) checks(u Upcoming, b domain.Borrower, sup domain.Suppressions, ledger compliance.Ledger) []Check {
	rules := s.o.Ledger.Rules()
	out := make([]Check, 0, len(u.Channels))
	for _, ch := range u.Channels {
		rem := domain.Reminder{BorrowerID: b.ID, LoanID: u.LoanID, AgreementID: u.AgreementID, Channel: ch,
			Category: u.category, Policy: u.Policy, Step: u.Step, Template: u.Template, DueAt: u.At}
		c := Check{Channel: ch}
		to := dispatcher.Address(ch, b)
		if to == "" {
			c.Status, c.Rule, c.Reason = CheckFailed, "no_address", "the borrower has no address on "+string(ch)
			out = append(out, c)
			continue
		}
		if block, ok := sup.Blocking(rem, to, u.At); ok {
			c.Status, c.Rule, c.Reason = CheckSuppressed, block.Kind, block.Reason()
			out = append(out, c)
			continue
		}
		d := rules.Check(u.At, rem, b, ledger)
		if d.Allowed {
			c.Status = CheckAllowed
		} else {
			c.Status, c.Rule, c.Reason = string(d.Status), d.Rule, d.Reason
			if !d.Until.IsZero() {
				until := d.Until
				c.Until = &until
			}
		}
		out = append(out, c)
	}
	return out
}
