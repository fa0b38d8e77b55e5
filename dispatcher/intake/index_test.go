package intake_test

import (
	"slices"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/testkit"
)

func upsertWithEmail(id, borrower, email string) intake.Event {
	return event(id, intake.TypeBorrowerUpserted, map[string]string{
		"borrower_id": borrower, "name": "Li Lei", "locale": "zh-CN", "timezone": "Asia/Shanghai",
		"phone": "+8613800000001", "email": email})
}

// TestUpsertKeepsTheEmailIndex: borrower.upserted keeps the email index as
// it keeps the phone index. Addresses are compared without regard to case,
// a borrower who changes address moves to the new entry, and one who drops
// it leaves the index.
func TestUpsertKeepsTheEmailIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	byEmail := func(email string) []string {
		t.Helper()
		ids, err := b.state.BorrowersByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	apply := func(ev intake.Event) {
		t.Helper()
		if err := b.intake.Apply(ctx, []intake.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		event intake.Event
		want  map[string][]string // email looked up -> borrowers
	}{
		{upsertWithEmail("e1", "b1", "Li.Lei@Example.com"), map[string][]string{
			"li.lei@example.com": {"b1"}, "LI.LEI@EXAMPLE.COM": {"b1"}}},
		{upsertWithEmail("e2", "b2", "li.lei@example.com"), map[string][]string{
			"Li.Lei@Example.com": {"b1", "b2"}}},
		// The same address in another case: still one entry, b1 in it.
		{upsertWithEmail("e3", "b1", "LI.LEI@example.com"), map[string][]string{
			"li.lei@example.com": {"b1", "b2"}}},
		{upsertWithEmail("e4", "b1", "lei@example.org"), map[string][]string{
			"li.lei@example.com": {"b2"}, "lei@example.org": {"b1"}}},
		{upsertWithEmail("e5", "b2", ""), map[string][]string{
			"li.lei@example.com": nil, "lei@example.org": {"b1"}}},
	}
	for i, st := range steps {
		apply(st.event)
		for email, want := range st.want {
			if got := byEmail(email); !slices.Equal(got, want) {
				t.Errorf("after event %d: borrowers by %q = %v, want %v", i+1, email, got, want)
			}
		}
	}
}
