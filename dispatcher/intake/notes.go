package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// updateBorrower is the one way intake changes what a reminder's snapshot
// copies of a borrower: a compare-and-set of the record (change as for
// store.State.UpdateBorrower), then, when the write may outdate a
// snapshot, its note (see mustNote and noteChange). It returns the
// revision written, 0 when change wrote nothing.
func (in *Intake) updateBorrower(ctx context.Context, borrowerID string, now time.Time, change func(*domain.Borrower) (bool, error)) (uint64, error) {
	note := false
	rev, err := in.state.UpdateBorrower(ctx, borrowerID, func(b *domain.Borrower) (bool, error) {
		existed, before, prevUpdated := b.ID != "", borrowerContent(*b), b.Updated
		write, err := change(b)
		note = write && err == nil && existed && mustNote(before, borrowerContent(*b), prevUpdated, now)
		return write, err
	})
	if err != nil || !note {
		return rev, err
	}
	return rev, in.noteChange(ctx, borrowerID, rev, 0)
}

// updateCase is updateBorrower for a case of borrowerID.
func (in *Intake) updateCase(ctx context.Context, borrowerID, loanID string, now time.Time, change func(*domain.Case) (bool, error)) (uint64, error) {
	note := false
	rev, err := in.state.UpdateCase(ctx, loanID, func(c *domain.Case) (bool, error) {
		existed, before, prevUpdated := c.LoanID != "", caseContent(*c), c.Updated
		write, err := change(c)
		note = write && err == nil && existed && mustNote(before, caseContent(*c), prevUpdated, now)
		return write, err
	})
	if err != nil || !note {
		return rev, err
	}
	return rev, in.noteChange(ctx, borrowerID, 0, rev)
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
