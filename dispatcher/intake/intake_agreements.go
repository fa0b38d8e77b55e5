package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// activate applies agreement.activated: the hold on the agreement's loans
// first, then the agreement and its cases.
func (in *Intake) activate(ctx context.Context, d AgreementData, by string) error {
	now := in.clock.Now()
	// Refusals come before the hold is written.
	if a, err := in.state.Agreement(ctx, d.AgreementID); err == nil && a.BorrowerID != d.BorrowerID {
		return invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for i, loan := range d.LoanIDs {
		if err := in.checkCaseOwner(ctx, fmt.Sprintf("data.loan_ids[%d]", i), loan, d.BorrowerID); err != nil {
			return err
		}
	}
	// The hold goes first: from its write on, no collection reminder for
	// these loans passes a fence.
	if err := in.suppressions.Update(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		if len(s.Holds) >= MaxActiveAgreements {
			return limitReached("data.agreement_id", "borrower %s already has %d active agreements, the most forbear keeps",
				short(d.BorrowerID), len(s.Holds))
		}
		s.Holds = append(s.Holds, domain.Hold{AgreementID: d.AgreementID, Kind: d.Kind, LoanIDs: d.LoanIDs, Since: now})
		return nil
	}); err != nil {
		return err
	}
	err := in.state.UpdateAgreement(ctx, d.AgreementID, func(a *domain.Agreement) (bool, error) {
		if a.ID != "" && a.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
		}
		*a = domain.Agreement{BorrowerID: d.BorrowerID, Kind: d.Kind, LoanIDs: d.LoanIDs,
			Installments: d.Installments, Status: domain.AgreementActive, Policy: in.agreement, Updated: now}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, loan := range d.LoanIDs {
		if err := in.setCaseAgreement(ctx, loan, d.BorrowerID, "", d.AgreementID); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, d.AgreementID)
}

// setCaseAgreement moves a case of the borrower from agreement from to
// agreement to ("" none); from "" sets it whatever it was. A loan not known
// yet is left alone (the hold covers it when it arrives), and so is a case
// that another agreement took over.
func (in *Intake) setCaseAgreement(ctx context.Context, loanID, borrowerID, from, to string) error {
	now := in.clock.Now()
	rev, err := in.updateCase(ctx, borrowerID, loanID, now, func(c *domain.Case) (bool, error) {
		if c.LoanID == "" || c.BorrowerID != borrowerID || from != "" && c.AgreementID != from || c.AgreementID == to {
			return false, nil
		}
		c.AgreementID = to
		c.Updated = now
		return true, nil
	})
	if err != nil || rev == 0 {
		// A retry that finds the case moved already notes nothing: the
		// worker decides nothing on a case's agreement (the hold in the
		// suppressions does), so a snapshot that misses it sends the same.
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, loanID)
}

// endAgreement applies agreement.broken and agreement.completed: the
// record says ended first, then the hold goes.
func (in *Intake) endAgreement(ctx context.Context, typ string, d AgreementEndData, by string) error {
	var loans []string
	err := in.state.UpdateAgreement(ctx, d.AgreementID, func(a *domain.Agreement) (bool, error) {
		if a.ID == "" {
			return false, notFound("data.agreement_id", "unknown agreement %s", short(d.AgreementID))
		}
		if a.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "agreement %s belongs to another borrower", short(d.AgreementID))
		}
		loans = a.LoanIDs
		a.Status = domain.AgreementBroken
		if typ == TypeAgreementCompleted {
			a.Status = domain.AgreementDone
		}
		a.Updated = in.clock.Now()
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := in.suppressions.Update(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		s.Holds = slices.DeleteFunc(s.Holds, func(h domain.Hold) bool { return h.AgreementID == d.AgreementID })
		return nil
	}); err != nil {
		return err
	}
	for _, loan := range loans {
		if err := in.setCaseAgreement(ctx, loan, d.BorrowerID, d.AgreementID, ""); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindAgreement, d.AgreementID)
}
