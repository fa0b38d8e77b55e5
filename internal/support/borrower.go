package support

import (
	"context"
	"errors"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/templates"
)

// View is the borrower page (GET /v1/borrowers/{id}).
type View struct {
	domain.Borrower
	// Zone is the zone the borrower's reminders are scheduled in: the
	// stored one, else scheduler.timezone.
	Zone string `json:"zone"`
	// LocalTime is now in Zone.
	LocalTime    time.Time           `json:"local_time"`
	Cases        []Case              `json:"cases"`
	Agreements   []domain.Agreement  `json:"agreements,omitempty"`
	Suppressions domain.Suppressions `json:"suppressions"`
	// Next are the upcoming reminders, soonest first (at most MaxNext).
	Next []Upcoming `json:"next_reminders"`
	// Contacts are the recent contact attempts in the compliance ledger
	// (what counts toward caps and conversations); null when the ledger
	// could not be read.
	Contacts []compliance.Attempt `json:"contacts"`
}

// Case is a case with how many days past due it is today, counted in
// calendar days of the borrower's zone (as templates count them).
type Case struct {
	domain.Case
	DaysPastDue int `json:"days_past_due"`
}

// Borrower assembles the borrower page. An unknown borrower is
// store.ErrNotFound. A case or agreement that cannot be read is logged and
// left out, next reminders and contacts that cannot be read are logged and
// shown empty, so the page still answers.
func (s *Service) Borrower(ctx context.Context, id string) (View, error) {
	st := s.o.State
	b, err := st.Borrower(ctx, id)
	if err != nil {
		return View{}, err
	}
	now := s.o.Clock.Now()
	zone := templates.BorrowerZone(b, s.o.DefaultZone)
	v := View{Borrower: b, Zone: zone.String(), LocalTime: now.In(zone), Cases: []Case{}, Next: []Upcoming{}}
	cases, agreements, err := s.loansOf(ctx, b)
	if err != nil {
		s.o.Log.WithError(err).Warn("borrower page: a case or agreement left out")
	}
	for _, c := range cases {
		v.Cases = append(v.Cases, Case{Case: c, DaysPastDue: templates.DaysPastDue(c.DueDate, zone, now)})
	}
	v.Agreements = agreements
	sup, err := st.Suppressions(ctx, b.ID)
	if err != nil {
		return View{}, err
	}
	v.Suppressions = sup.Listed(now)
	ledger, err := s.o.Ledger.Read(ctx, b.ID)
	if err != nil {
		s.o.Log.WithError(err).Warn("contact ledger unavailable")
	} else {
		v.Contacts = append([]compliance.Attempt{}, ledger.Attempts...)
	}
	next, err := s.next(ctx, b, now)
	if err != nil {
		s.o.Log.WithError(err).Warn("next reminders unavailable")
		return v, nil
	}
	for i := range next {
		next[i].Checks = s.checks(next[i], b, sup, ledger)
	}
	v.Next = next
	return v, nil
}

// loansOf reads a borrower's cases and their agreements (each once). What
// cannot be read is left out and the first such error returned; a case or
// agreement that no longer exists is simply not there.
func (s *Service) loansOf(ctx context.Context, b domain.Borrower) (cases []domain.Case, agreements []domain.Agreement, firstErr error) {
	keep := func(err error) {
		if firstErr == nil && !errors.Is(err, store.ErrNotFound) {
			firstErr = err
		}
	}
	seen := map[string]bool{}
	for _, loanID := range b.LoanIDs {
		c, err := s.o.State.Case(ctx, loanID)
		if err != nil {
			keep(err)
			continue
		}
		cases = append(cases, c)
		if c.AgreementID == "" || seen[c.AgreementID] {
			continue
		}
		seen[c.AgreementID] = true
		a, err := s.o.State.Agreement(ctx, c.AgreementID)
		if err != nil {
			keep(err)
			continue
		}
		agreements = append(agreements, a)
	}
	return cases, agreements, firstErr
}
