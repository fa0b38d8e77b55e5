package domain

import (
	"testing"
	"time"
)

func TestChangesOutdateOlderSnapshotsOnly(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	loan := &Snapshot{Borrower: &Borrower{ID: "b"}, BorrowerRev: 10, Case: &Case{LoanID: "L", BorrowerID: "b"}, CaseRev: 20}
	instalment := &Snapshot{Borrower: &Borrower{ID: "b"}, BorrowerRev: 10}
	noted := func(borrowerRev, caseRev uint64) Suppressions {
		var s Suppressions
		s.NoteChange(borrowerRev, caseRev, now)
		return s
	}
	tests := []struct {
		name    string
		sup     Suppressions
		snap    *Snapshot
		takenAt time.Time
		want    bool
	}{
		{"no change noted", Suppressions{}, loan, now, false},
		{"a change the snapshot already holds", noted(10, 20), loan, now, false},
		{"a later change to the borrower", noted(11, 0), loan, now, true},
		{"a later change to a case", noted(0, 21), loan, now, true},
		{"a case change and a snapshot without a case", noted(0, 21), instalment, now, false},
		{"no snapshot", Suppressions{}, nil, now, true},
		{"a snapshot without the borrower", Suppressions{}, &Snapshot{Agreement: &AgreementScope{ID: "A"}}, now, true},
		{"a snapshot of another borrower", Suppressions{}, &Snapshot{Borrower: &Borrower{ID: "x"}}, now, true},
		{"a snapshot of another loan", Suppressions{}, &Snapshot{Borrower: &Borrower{ID: "b"}, Case: &Case{LoanID: "M", BorrowerID: "b"}}, now, true},
		{"a snapshot of a case of another borrower", Suppressions{}, &Snapshot{Borrower: &Borrower{ID: "b"}, Case: &Case{LoanID: "L", BorrowerID: "x"}}, now, true},
		{"a snapshot just inside its age", Suppressions{}, loan, now.Add(-SnapshotMaxAge + time.Second), false},
		{"a snapshot at its age", Suppressions{}, loan, now.Add(-SnapshotMaxAge), true},
	}
	for _, tt := range tests {
		r := Reminder{BorrowerID: "b", LoanID: "L", QueuedAt: tt.takenAt, Snapshot: tt.snap}
		if got := tt.sup.Outdates(r, now); got != tt.want {
			t.Errorf("%s: Outdates = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNoteChangeKeepsTheHighestRevisions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var s Suppressions
	s.NoteChange(5, 0, now)
	s.NoteChange(0, 9, now)
	s.NoteChange(3, 4, now.Add(time.Minute))
	if want := (Changed{Borrower: 5, Cases: 9, At: now.Add(time.Minute)}); *s.Changed != want {
		t.Fatalf("changed = %+v, want %+v", *s.Changed, want)
	}
	if s.Active(now.Add(time.Minute+ChangesKeep)).Changed == nil {
		t.Error("a change was forgotten before ChangesKeep")
	}
	if s.Active(now.Add(time.Minute+ChangesKeep+time.Second)).Changed != nil {
		t.Error("a change was kept past ChangesKeep")
	}
}

func TestExpiryKeepsRecordsThatSuppress(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var noted Suppressions
	noted.NoteChange(1, 0, now)
	inAnHour, inTwoHours, anHourAgo := now.Add(time.Hour), now.Add(2*time.Hour), now.Add(-time.Hour)
	tests := []struct {
		name string
		sup  Suppressions
		want time.Duration
	}{
		{"empty", Suppressions{}, ChangesKeep},
		{"a note only", noted, ChangesKeep},
		{"a mute", Suppressions{Mutes: []Mute{{ID: "m"}}}, 0},
		{"a hold", Suppressions{Holds: []Hold{{AgreementID: "a"}}}, 0},
		{"an opt-out", Suppressions{OptOuts: []OptOut{{Channel: SMS}}}, 0},
		{"ceased", Suppressions{Ceased: &now}, 0},
		{"a mute that ends in an hour", Suppressions{Mutes: []Mute{{ID: "m", Until: &inAnHour}}}, time.Hour + time.Second + ChangesKeep},
		{"mutes that end, the last in two hours", Suppressions{Mutes: []Mute{{ID: "a", Until: &inTwoHours}, {ID: "b", Until: &inAnHour}}}, 2*time.Hour + time.Second + ChangesKeep},
		{"a mute that ended", Suppressions{Mutes: []Mute{{ID: "m", Until: &anHourAgo}}}, time.Second + ChangesKeep},
		{"a mute that ends and one that does not", Suppressions{Mutes: []Mute{{ID: "a", Until: &inAnHour}, {ID: "b"}}}, 0},
		{"a mute that ends and a hold", Suppressions{Mutes: []Mute{{ID: "a", Until: &inAnHour}}, Holds: []Hold{{AgreementID: "a"}}}, 0},
		{"a mute that ends and an opt-out", Suppressions{Mutes: []Mute{{ID: "a", Until: &inAnHour}}, OptOuts: []OptOut{{Channel: SMS}}}, 0},
	}
	for _, tt := range tests {
		if got := tt.sup.Expiry(now); got != tt.want {
			t.Errorf("%s: Expiry = %v, want %v", tt.name, got, tt.want)
		}
	}
}
