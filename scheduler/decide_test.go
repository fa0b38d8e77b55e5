package scheduler

import (
	"slices"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// These tables drive the sweep's decisions without NATS: what a plan
// still has to publish given the record's markers and the borrower's
// suppressions, and where the entry goes afterwards.

func twoTargets() Plan {
	return Plan{BorrowerID: "b1", Targets: []Target{
		{Marker: "m-pre", Channels: []domain.Channel{domain.SMS, domain.InApp},
			Reminder: domain.Reminder{Occurrence: "L1/pre/0", BorrowerID: "b1", LoanID: "L1", Category: domain.Collection}},
		{Marker: "m-due", Channels: []domain.Channel{domain.Email},
			Reminder: domain.Reminder{Occurrence: "L1/due/0", BorrowerID: "b1", LoanID: "L1", Category: domain.Collection}},
	}}
}

func TestSelectReminders(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	muteUntil := now.Add(2 * time.Hour)
	sent := func(marks map[string][]domain.Channel) record {
		var r record
		for k, chs := range marks {
			r.markSent(k, chs, now.Add(-time.Hour))
		}
		return r
	}
	tests := []struct {
		name     string
		rec      record
		sup      domain.Suppressions
		send     []string
		already  int
		held     int
		wake     time.Time
		unsent   int
		clearSup bool
	}{
		{name: "nothing sent yet", send: []string{"L1/pre/0/sms", "L1/pre/0/inapp", "L1/due/0/email"}, unsent: 3, clearSup: true},
		{name: "one channel already published", rec: sent(map[string][]domain.Channel{"m-pre": {domain.SMS}}),
			send: []string{"L1/pre/0/inapp", "L1/due/0/email"}, already: 1, unsent: 2, clearSup: true},
		{name: "everything published", rec: sent(map[string][]domain.Channel{"m-pre": {domain.SMS, domain.InApp}, "m-due": {domain.Email}}),
			already: 3, unsent: 0, clearSup: true},
		{name: "a mute withholds all and wakes the subject when it ends",
			sup:  domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Reason: "complaint", Until: &muteUntil}}},
			held: 3, wake: muteUntil, unsent: 3},
		{name: "a muted channel is withheld, the others go",
			sup:  domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Reason: "complaint", Channels: []domain.Channel{domain.Email}}}},
			send: []string{"L1/pre/0/sms", "L1/pre/0/inapp"}, held: 1, unsent: 3},
		{name: "a withheld reminder already published is not counted twice",
			rec:  sent(map[string][]domain.Channel{"m-due": {domain.Email}}),
			sup:  domain.Suppressions{Mutes: []domain.Mute{{ID: "m1", Reason: "complaint", Channels: []domain.Channel{domain.Email}}}},
			send: []string{"L1/pre/0/sms", "L1/pre/0/inapp"}, already: 1, unsent: 2, clearSup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := twoTargets()
			if n := unsent(p, tt.rec); n != tt.unsent {
				t.Errorf("unsent = %d, want %d", n, tt.unsent)
			}
			if c := clearFor(p, tt.rec, tt.sup, now); c != tt.clearSup {
				t.Errorf("clearFor = %v, want %v", c, tt.clearSup)
			}
			sel := selectReminders(p, tt.rec, tt.sup, now)
			var got []string
			for _, o := range sel.send {
				got = append(got, o.rem.ID)
				if o.rem.Channel == "" || p.Targets[o.t].Reminder.Occurrence != o.rem.Occurrence {
					t.Errorf("outgoing %+v does not match its target", o)
				}
			}
			if !slices.Equal(got, tt.send) || sel.already != tt.already || len(sel.held) != tt.held || !sel.wake.Equal(tt.wake) {
				t.Errorf("selection: send %v already %d held %d wake %v; want %v %d %d %v",
					got, sel.already, len(sel.held), sel.wake, tt.send, tt.already, tt.held, tt.wake)
			}
			for _, h := range sel.held {
				if h.reason == "" {
					t.Errorf("withheld %s without a reason", h.rem.ID)
				}
			}
		})
	}
}

func TestPlace(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	next, wake := now.Add(24*time.Hour), now.Add(time.Hour)
	tests := []struct {
		name   string
		p      Plan
		failed bool
		wake   time.Time
		want   placement
	}{
		{"failed goes back to the now lane", Plan{Next: next}, true, time.Time{}, placement{kind: moveRetry}},
		{"failed even when the plan drops", Plan{Drop: "case closed"}, true, time.Time{}, placement{kind: moveRetry}},
		{"the plan drops", Plan{Drop: "case closed", Next: next}, false, time.Time{}, placement{kind: moveDrop, reason: "case closed"}},
		{"nothing left to send", Plan{}, false, time.Time{}, placement{kind: moveDrop, reason: "nothing left to send"}},
		{"next occurrence", Plan{Next: next}, false, time.Time{}, placement{kind: moveLater, at: next}},
		{"a mute ending first", Plan{Next: next}, false, wake, placement{kind: moveLater, at: wake}},
		{"a mute ending later", Plan{Next: wake}, false, next, placement{kind: moveLater, at: wake}},
		{"only a mute's end", Plan{}, false, wake, placement{kind: moveLater, at: wake}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := place(tt.p, tt.failed, tt.wake)
			if got.kind != tt.want.kind || !got.at.Equal(tt.want.at) || got.reason != tt.want.reason {
				t.Errorf("place = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	now := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

	// The plain entry key of earlier versions reads as a record whose
	// markers may still be in the occurrences bucket.
	r, ok := decodeRecord([]byte("now.loan.L1"), now)
	if !ok || r.Entry != "now.loan.L1" || !r.readsOldMarkers(now) || r.readsOldMarkers(now.Add(markerTTL+time.Minute)) {
		t.Fatalf("legacy record = %+v, %v", r, ok)
	}
	if _, ok := decodeRecord([]byte("{not json"), now); ok {
		t.Error("a broken record decodes")
	}

	// Round trip, and marking twice keeps one channel once.
	r = record{Entry: "t.2025.03.11.00.00.loan.L1"}
	r.markSent("m1", []domain.Channel{domain.SMS}, now)
	r.markSent("m1", []domain.Channel{domain.SMS, domain.Email}, now)
	back, ok := decodeRecord(r.encode(), now)
	if !ok || back.Entry != r.Entry || !slices.Equal(back.done("m1"), []domain.Channel{domain.SMS, domain.Email}) || !back.OldMarkersUntil.IsZero() {
		t.Fatalf("round trip = %+v, %v", back, ok)
	}

	// Merging never aliases the other record's channels.
	other := map[string]mark{"m1": {Channels: []domain.Channel{domain.Voice}, At: now}}
	back.merge(other)
	if !slices.Equal(back.done("m1"), []domain.Channel{domain.SMS, domain.Email, domain.Voice}) || len(other["m1"].Channels) != 1 {
		t.Errorf("merge: %v, other %v", back.done("m1"), other["m1"].Channels)
	}

	// Pruning: expired markers go, then all but the newest maxMarks.
	r = record{}
	r.markSent("old", []domain.Channel{domain.SMS}, now.Add(-markerTTL-time.Hour))
	for i := range maxMarks + 10 {
		r.markSent(string(rune('a'+i%26))+time.Duration(i).String(), []domain.Channel{domain.SMS}, now.Add(-time.Duration(i)*time.Minute))
	}
	r.prune(now)
	if len(r.Sent) != maxMarks || r.done("old") != nil || r.done("a0s") == nil {
		t.Errorf("pruned to %d markers (old kept: %v, newest kept: %v), want %d", len(r.Sent), r.done("old") != nil, r.done("a0s") != nil, maxMarks)
	}
	r = record{Sent: map[string]mark{"old": {At: now.Add(-markerTTL - time.Hour)}}, OldMarkersUntil: now.Add(-time.Second)}
	if r.prune(now); r.Sent != nil || !r.OldMarkersUntil.IsZero() {
		t.Errorf("an expired record keeps %+v", r)
	}
}
