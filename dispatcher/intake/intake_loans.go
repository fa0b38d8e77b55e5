package intake

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// checkCaseOwner refuses a loan that is known under another borrower. It
// runs before anything is written; the compare-and-set of the case checks
// again.
func (in *Intake) checkCaseOwner(ctx context.Context, field, loanID, borrowerID string) error {
	c, err := in.state.Case(ctx, loanID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.BorrowerID != borrowerID {
		return invalid(field, "loan %s belongs to another borrower", short(loanID))
	}
	return nil
}

// updateLoan applies loan.updated.
func (in *Intake) updateLoan(ctx context.Context, d LoanData) error {
	if err := in.checkCaseOwner(ctx, "data.borrower_id", d.LoanID, d.BorrowerID); err != nil {
		return err
	}
	now := in.clock.Now()
	// The borrower is linked first (a stub when the borrower is not known
	// yet): a borrower-wide change then reschedules the loan.
	// The loan list is not in any snapshot (domain.SnapshotBorrower): no
	// change to note.
	_, err := in.state.UpdateBorrower(ctx, d.BorrowerID, func(b *domain.Borrower) (bool, error) {
		if slices.Contains(b.LoanIDs, d.LoanID) {
			return false, nil
		}
		if len(b.LoanIDs) >= MaxLoansPerBorrower {
			return false, limitReached("data.loan_id", "borrower %s already has %d loans, the most forbear keeps for one borrower",
				short(d.BorrowerID), len(b.LoanIDs))
		}
		b.LoanIDs = append(b.LoanIDs, d.LoanID)
		b.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	_, err = in.updateCase(ctx, d.BorrowerID, d.LoanID, now, func(c *domain.Case) (bool, error) {
		if c.LoanID != "" && c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		c.BorrowerID, c.DueDate, c.AmountDue = d.BorrowerID, d.DueDate, d.AmountDue
		c.Currency, c.Status, c.Policy, c.Updated = d.Currency, d.Status, d.Policy, now
		return true, nil
	})
	if err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

// payment applies payment.received; nothing left to pay closes the case.
func (in *Intake) payment(ctx context.Context, d PaymentData) error {
	now := in.clock.Now()
	_, err := in.updateCase(ctx, d.BorrowerID, d.LoanID, now, func(c *domain.Case) (bool, error) {
		if c.LoanID == "" {
			return false, notFound("data.loan_id", "unknown loan %s", short(d.LoanID))
		}
		if c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		c.AmountDue = d.Remaining
		if isZero(d.Remaining) {
			c.Status = domain.LoanPaid
		}
		c.Updated = now
		return true, nil
	})
	if err != nil {
		return err
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

// isZero reports whether a decimal string is zero.
func isZero(decimal string) bool {
	return strings.Trim(strings.ReplaceAll(decimal, ".", ""), "0") == ""
}
