package retention_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/testkit"
)

// inbox is the in-app inbox on the bundle's NATS and clock.
func (b *bundle) inbox(t *testing.T) *inapp.Inbox {
	t.Helper()
	ib, err := inapp.New(b.nats.JS, inapp.WithClock(b.clock))
	if err != nil {
		t.Fatal(err)
	}
	return ib
}

// send puts a message for reminder in borrower's inbox, as an in-app
// delivery does.
func send(t *testing.T, ib *inapp.Inbox, borrower, reminder string) {
	t.Helper()
	msg := channels.Message{ReminderID: reminder, BorrowerID: borrower, To: borrower, Channel: domain.InApp,
		Subject: "Payment due", Text: "Please pay " + reminder}
	if _, err := ib.Send(testkit.Context(t, time.Minute), msg); err != nil {
		t.Fatal(err)
	}
}

// inboxed counts what the inbox's stream holds for borrower: messages,
// and any delete markers, which a purge must not leave either.
func (b *bundle) inboxed(t *testing.T, borrower string) uint64 {
	t.Helper()
	n, err := b.read.Count(testkit.Context(t, time.Minute), store.KVStream(store.InboxBucket),
		store.KVSubject(store.InboxBucket, store.InboxBorrowerKeys(borrower)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetentionPurgesTheInbox: a borrower purged for being idle past the
// age loses the in-app messages too (their text is personal data, and
// nothing else ever removes them), while an active borrower keeps both
// trail and inbox; so does one whose token starts with the idle one's.
func TestRetentionPurgesTheInbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	ib := b.inbox(t)
	idle := []string{"idle", "idle/x"} // the second one's token is encoded
	for _, id := range idle {
		for i := range 3 {
			reminder := fmt.Sprintf("L-%s/s/%d/inapp", id, i)
			send(t, ib, id, reminder)
			b.record(t, b.audit, id, reminder, t0.Add(time.Duration(i)*time.Hour))
		}
	}
	send(t, ib, "idle-active", "L-a/s/0/inapp")
	b.record(t, b.audit, "idle-active", "L-a/s/0/inapp", t0)
	send(t, ib, "idle-active", "L-a/s/1/inapp")
	b.record(t, b.audit, "idle-active", "L-a/s/1/inapp", t0.Add(twoYears))
	// A message read is a second revision of its key: both go.
	if err := ib.MarkRead(ctx, "idle", "L-idle/s/0/inapp"); err != nil {
		t.Fatal(err)
	}

	b.clock.Set(t0.Add(threeYears + 48*time.Hour))
	rep, err := b.purger(t, 0).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Purged != 2 || rep.More {
		t.Errorf("report %+v, want the two idle borrowers purged", rep)
	}
	for _, id := range idle {
		if n := b.stored(t, id); n != 0 {
			t.Errorf("idle borrower %q keeps %d records, want 0", id, n)
		}
		if n := b.inboxed(t, id); n != 0 {
			t.Errorf("idle borrower %q keeps %d inbox messages, want 0", id, n)
		}
	}
	if n := b.stored(t, "idle-active"); n != 2 {
		t.Errorf("active borrower keeps %d records, want 2", n)
	}
	msgs, err := ib.List(ctx, "idle-active")
	if err != nil || len(msgs) != 2 {
		t.Errorf("active borrower's inbox lists %d messages (%v), want 2", len(msgs), err)
	}
}

// TestPurgerNeedsTheInbox: without the inbox bucket there is no purger,
// and the error says which bucket is missing.
func TestPurgerNeedsTheInbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testkit.Context(t, time.Minute)
	if err := b.nats.JS.DeleteKeyValue(ctx, store.InboxBucket); err != nil {
		t.Fatal(err)
	}
	_, err := retention.NewPurger(ctx, retention.Options{JS: b.nats.JS, Index: b.index, Age: threeYears, Clock: b.clock})
	if err == nil || !strings.Contains(err.Error(), store.InboxBucket) {
		t.Fatalf("purger without the inbox bucket: %v, want an error naming %s", err, store.InboxBucket)
	}
}
