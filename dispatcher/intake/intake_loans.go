package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

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
	note := false
	rev, err := in.state.UpdateCase(ctx, d.LoanID, func(c *domain.Case) (bool, error) {
		if c.LoanID != "" && c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		existed, before, prevUpdated := c.LoanID != "", caseContent(*c), c.Updated
		c.BorrowerID, c.DueDate, c.AmountDue = d.BorrowerID, d.DueDate, d.AmountDue
		c.Currency, c.Status, c.Policy, c.Updated = d.Currency, d.Status, d.Policy, now
		note = existed && mustNote(before, caseContent(*c), prevUpdated, now)
		return true, nil
	})
	if err != nil {
		return err
	}
	if note {
		if err := in.noteChange(ctx, d.BorrowerID, 0, rev); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

// payment applies payment.received; nothing left to pay closes the case.
func (in *Intake) payment(ctx context.Context, d PaymentData) error {
	now := in.clock.Now()
	note := false
	rev, err := in.state.UpdateCase(ctx, d.LoanID, func(c *domain.Case) (bool, error) {
		if c.LoanID == "" {
			return false, notFound("data.loan_id", "unknown loan %s", short(d.LoanID))
		}
		if c.BorrowerID != d.BorrowerID {
			return false, invalid("data.borrower_id", "loan %s belongs to another borrower", short(d.LoanID))
		}
		before, prevUpdated := caseContent(*c), c.Updated
		c.AmountDue = d.Remaining
		if isZero(d.Remaining) {
			c.Status = domain.LoanPaid
		}
		c.Updated = now
		note = mustNote(before, caseContent(*c), prevUpdated, now)
		return true, nil
	})
	if err != nil {
		return err
	}
	if note {
		if err := in.noteChange(ctx, d.BorrowerID, 0, rev); err != nil {
			return err
		}
	}
	return in.reindex.Reindex(ctx, KindLoan, d.LoanID)
}

// noteChange notes in the borrower's suppressions that its record
// (borrowerRev) or one of its cases (caseRev) changed after it was
// created, so that a reminder whose snapshot is older reads them again
// (domain.Suppressions.Outdates). It runs after the record's write and
// before the event is acknowledged: a send fenced after the
// acknowledgement sees it. A change that fails here fails the event,
// whose retry writes the record again and notes the change then.
func (in *Intake) noteChange(ctx context.Context, borrowerID string, borrowerRev, caseRev uint64) error {
	now := in.clock.Now()
	return in.suppressions.Update(ctx, borrowerID, "", func(s *domain.Suppressions) error {
		s.NoteChange(borrowerRev, caseRev, now)
		return nil
	})
}

// mustNote reports whether a write of a record that existed, from before
// to after (as borrowerContent or caseContent give them), must be noted
// (noteChange): its content changed, or it was last written (prevUpdated)
// so recently that this may be the retry of a change whose note failed. A
// record rewritten as it was long after its last write outdates no
// snapshot still in use (domain.SnapshotMaxAge, doubled for clock skew
// between instances), and noting it would give every borrower of a
// backend that resends its whole book a suppressions record.
func mustNote(before, after []byte, prevUpdated, now time.Time) bool {
	return !bytes.Equal(before, after) || now.Sub(prevUpdated) < 2*domain.SnapshotMaxAge
}

// borrowerContent is what a snapshot copies of b, encoded for comparing.
func borrowerContent(b domain.Borrower) []byte {
	b.Updated = time.Time{}
	data, _ := json.Marshal(domain.SnapshotBorrower(b))
	return data
}

// caseContent is c without its time of update, encoded for comparing.
func caseContent(c domain.Case) []byte {
	c.Updated = time.Time{}
	data, _ := json.Marshal(c)
	return data
}

// isZero reports whether a decimal string is zero.
func isZero(decimal string) bool {
	return strings.Trim(strings.ReplaceAll(decimal, ".", ""), "0") == ""
}
