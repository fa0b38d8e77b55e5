package retention

import (
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestInboxPurgeKeepsALaterMessage: an in-app message written after the
// purge took the inbox's bound (a send under way while the borrower is
// decided on, its record not yet written) stays, while the borrower's
// older message goes with the trail.
func TestInboxPurgeKeepsALaterMessage(t *testing.T) {
	t.Parallel()
	ctx := testkit.Context(t, time.Minute)
	n := testkit.StartNATS(t)
	t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	fc := clock.NewFake(t0)
	idx, err := OpenIndex(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	rec := audit.New(n.JS, "test", audit.WithActivity(idx.Touch))
	ib, err := inapp.New(n.JS, inapp.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	send := func(reminder string) {
		t.Helper()
		msg := channels.Message{ReminderID: reminder, BorrowerID: "idle", To: "idle", Channel: domain.InApp, Text: "Please pay"}
		if _, err := ib.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	send("L/s/0/inapp")
	if err := rec.Record(ctx, domain.Delivery{ID: "L/s/0/inapp", BorrowerID: "idle", LoanID: "L", Channel: domain.InApp,
		Status: domain.Delivered, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	p, err := NewPurger(ctx, Options{JS: n.JS, Index: idx, Age: 3 * 365 * 24 * time.Hour, Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	bounds := 0
	p.inboxBound = func(borrower string) {
		bounds++
		send("L/s/1/inapp") // after the bound, before the records are read
	}
	fc.Set(t0.Add(3*365*24*time.Hour + 48*time.Hour))
	rep, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Purged != 1 || bounds != 1 {
		t.Fatalf("report %+v after %d bounds taken, want the borrower purged once", rep, bounds)
	}
	msgs, err := ib.List(ctx, "idle")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ID != "L/s/1/inapp" {
		t.Errorf("inbox after the purge holds %+v, want only the message written after the bound", msgs)
	}
}
