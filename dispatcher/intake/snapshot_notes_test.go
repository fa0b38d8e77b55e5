package intake_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestIntakeNotesOnlyChangesThatCanOutdateASnapshot: a change to a
// borrower or a case that existed is noted in the borrower's suppressions
// (what outdates a reminder's snapshot); a record created, or rewritten as
// it was long after its last change, notes nothing, so a backend that
// sends its whole book again every day does not give every borrower a
// suppressions record. A rewrite soon after a change notes again: it may
// be the retry of a change whose note failed.
func TestIntakeNotesOnlyChangesThatCanOutdateASnapshot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	changed := func() domain.Changed {
		t.Helper()
		sup, err := b.state.Suppressions(ctx, "b1")
		if err != nil {
			t.Fatal(err)
		}
		if sup.Changed == nil {
			return domain.Changed{}
		}
		return *sup.Changed
	}
	apply := func(evs ...intake.Event) {
		t.Helper()
		if err := b.intake.Apply(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	apply(borrowerEvent("e1", "b1"), loanEvent("e2", "b1", "l1"))
	if got := changed(); got != (domain.Changed{}) {
		t.Fatalf("creating a borrower and a loan noted %+v, want nothing", got)
	}

	b.clock.Advance(3 * time.Hour)
	apply(borrowerEvent("e3", "b1"), loanEvent("e4", "b1", "l1"))
	if got := changed(); got != (domain.Changed{}) {
		t.Fatalf("rewriting them as they were, hours later, noted %+v, want nothing", got)
	}

	moved := event("e5", intake.TypeBorrowerUpserted, map[string]string{
		"borrower_id": "b1", "name": "Li Lei", "locale": "zh-CN", "timezone": "Asia/Shanghai",
		"phone": "+8613800000002", "email": "li@example.com"})
	apply(moved)
	first := changed()
	if first.Borrower == 0 || first.Cases != 0 {
		t.Fatalf("a new number noted %+v, want the borrower's revision only", first)
	}

	b.clock.Advance(time.Minute)
	again := moved
	again.ID = "e6"
	apply(again)
	if got := changed(); got.Borrower <= first.Borrower {
		t.Fatalf("the same change again a minute later noted %+v, want a newer revision than %d", got, first.Borrower)
	}

	apply(event("e7", intake.TypePaymentReceived, map[string]string{
		"borrower_id": "b1", "loan_id": "l1", "amount": "100.00", "remaining": "1100.00"}))
	if got := changed(); got.Cases == 0 {
		t.Fatalf("a payment noted %+v, want the case's revision", got)
	}
}
