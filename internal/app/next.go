package app

import (
	"context"
	"sort"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/httpapi"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// next lists the borrower's upcoming reminders: for each open case (and
// active agreement) the next occurrence of each step, soonest first. It is
// a view for support staff; suppressions are listed beside it. A case or
// instalment whose stored date the scheduler refuses (scheduler.ParseAnchor)
// has no upcoming reminder, as the sweep sends it none; Step.Next takes a
// bounded number of steps whatever the dates, so the view answers at once.
func (a *App) next(ctx context.Context, b domain.Borrower) ([]httpapi.Upcoming, error) {
	pols := a.policies
	loc := templates.BorrowerZone(b, a.zone)
	now := a.clock.Now()
	out := []httpapi.Upcoming{}
	add := func(p *scheduler.Policy, anchorDate, loanID, agreementID string) {
		anchor, err := scheduler.ParseAnchor(anchorDate, loc)
		if err != nil {
			return
		}
		for _, st := range p.Steps {
			if at, ok := st.Next(anchor, now); ok {
				out = append(out, httpapi.Upcoming{LoanID: loanID, AgreementID: agreementID, Policy: p.ID,
					Step: st.ID, Channels: st.Channels, At: at})
			}
		}
	}
	agreements := map[string]bool{}
	for _, id := range b.LoanIDs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := a.state.Case(ctx, id)
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
		ag, err := a.state.Agreement(ctx, id)
		if err != nil || ag.Status != domain.AgreementActive {
			continue
		}
		policy := ag.Policy
		if policy == "" {
			policy = a.cfg.Agreements.Policy
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
	if len(out) > 20 {
		out = out[:20]
	}
	return out, nil
}
