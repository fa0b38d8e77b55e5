package domain_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// TestSuppressionChanges: one write's changes are listed with who made
// them; a mute that ran out is "expired" at its end, by no one, while one
// lifted early is "removed" now by whoever lifted it; an agreement whose
// loans change is "changed"; unchanged suppressions are not listed.
func TestSuppressionChanges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	ended := now.Add(-time.Hour)
	later := now.Add(time.Hour)
	ceased := now.Add(-24 * time.Hour)
	before := domain.Suppressions{BorrowerID: "b1",
		Mutes:   []domain.Mute{{ID: "m-ran-out", Until: &ended}, {ID: "m-lifted", Until: &later}, {ID: "m-kept"}},
		Holds:   []domain.Hold{{AgreementID: "A1", LoanIDs: []string{"L1"}}, {AgreementID: "A2", LoanIDs: []string{"L2"}}},
		OptOuts: []domain.OptOut{{Channel: domain.SMS, Address: "+15550000001"}},
		Ceased:  &ceased,
	}
	after := domain.Suppressions{BorrowerID: "b1",
		Mutes:   []domain.Mute{{ID: "m-kept"}, {ID: "m-new", Created: now, Reason: "complaint"}},
		Holds:   []domain.Hold{{AgreementID: "A1", LoanIDs: []string{"L1", "L3"}}},
		OptOuts: []domain.OptOut{{Channel: domain.SMS, Address: "+15550000001"}, {Channel: domain.Email, Source: "unsubscribe link", At: now}},
		Ceased:  &ceased,
	}
	got := domain.SuppressionChanges(before, after, now, "desk")
	type change struct {
		action, kind, id, by string
		at                   time.Time
	}
	want := []change{
		{domain.ChangeExpired, "mute", "m-ran-out", "", ended},
		{domain.ChangeRemoved, "mute", "m-lifted", "desk", now},
		{domain.ChangeAdded, "mute", "m-new", "desk", now},
		{domain.ChangeChanged, "agreement", "A1", "desk", now},
		{domain.ChangeRemoved, "agreement", "A2", "desk", now},
		{domain.ChangeAdded, "opt_out", "email", "desk", now},
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes %+v, want %d", len(got), got, len(want))
	}
	for i, c := range got {
		if w := want[i]; c.Action != w.action || c.Kind != w.kind || c.ID != w.id || c.By != w.by || !c.At.Equal(w.at) || c.BorrowerID != "b1" {
			t.Errorf("change %d = %+v, want %+v", i, c, w)
		}
	}
	if none := domain.SuppressionChanges(after, after, now, "desk"); len(none) != 0 {
		t.Errorf("no change listed %+v", none)
	}
}
