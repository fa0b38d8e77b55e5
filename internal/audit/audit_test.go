package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

type bundle struct {
	nats *testkit.NATS
	rec  *audit.Recorder
	at   time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	return &bundle{nats: n, rec: audit.New(n.JS, "test"), at: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
}

func ctx(t *testing.T) context.Context { return testkit.Context(t, 2*time.Minute) }

// record stores a record of reminder id for borrower b, one second after
// the previous one.
func (b *bundle) record(t *testing.T, borrower, id string, status domain.Status) domain.Delivery {
	t.Helper()
	b.at = b.at.Add(time.Second)
	d := domain.Delivery{ID: id, BorrowerID: borrower, Channel: domain.SMS, Status: status, At: b.at, Reason: fmt.Sprint(b.at.Unix())}
	if err := b.rec.Record(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// consumers is how many consumers the DELIVERIES stream has.
func (b *bundle) consumers(t *testing.T) int {
	t.Helper()
	s, err := b.nats.JS.Stream(ctx(t), store.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

// TestReadsLeaveNothingBehind: thousands of reads in a row (the support
// page, the workers' look-ups on deferral and redelivery) all succeed and
// leave the stream's consumer count as it was. Each read used to leave an
// ordered consumer behind, and read 1,001 hit the stream's consumer limit.
func TestReadsLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		b.record(t, "b1", fmt.Sprintf("loan-1/overdue/%d/sms", i), domain.Queued)
		b.record(t, "b1", fmt.Sprintf("loan-1/overdue/%d/sms", i), domain.Sent)
	}
	before := b.consumers(t)
	c := ctx(t)
	for i := range 5000 {
		var err error
		found := true
		switch i % 3 {
		case 0:
			var list []domain.Delivery
			list, err = b.rec.List(c, "b1", 3)
			if err == nil && len(list) != 3 {
				t.Fatalf("list %d: %d records, want 3", i, len(list))
			}
		case 1:
			_, found, err = b.rec.Find(c, "b1", "loan-1/overdue/2/sms", domain.Sent)
		case 2:
			_, found, err = b.rec.FindOnLeader(c, "b1", "loan-1/overdue/3/sms", domain.Sent)
		}
		if err != nil || !found {
			t.Fatalf("read %d: found %v, %v", i, found, err)
		}
	}
	if after := b.consumers(t); after != before {
		t.Fatalf("%d consumers on the stream after the reads, %d before", after, before)
	}
}

// TestListNewestFirstIncludingLegacyRecords: records stored on the
// borrower's subject before per-reminder subjects existed are listed with
// the new ones, newest first, and limit keeps the newest.
func TestListNewestFirstIncludingLegacyRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := ctx(t)
	var want []domain.Delivery
	legacy := func(id string) {
		b.at = b.at.Add(time.Second)
		d := domain.Delivery{ID: id, BorrowerID: "b1", Status: domain.Sent, At: b.at}
		data := fmt.Appendf(nil, `{"id":%q,"borrower_id":"b1","status":"sent","at":%q}`, id, b.at.Format(time.RFC3339))
		if _, err := b.nats.JS.Publish(c, store.LegacyDeliverySubject("b1"), data); err != nil {
			t.Fatal(err)
		}
		want = append(want, d)
	}
	legacy("old-1")
	legacy("old-2")
	want = append(want, b.record(t, "b1", "new-1", domain.Queued))
	b.record(t, "b2", "other", domain.Queued)
	want = append(want, b.record(t, "b1", "new-1", domain.Sent))
	legacy("old-3") // an instance not yet upgraded
	want = append(want, b.record(t, "b1", "new-2", domain.Queued))

	for _, limit := range []int{0, 1, 3, len(want), 100} {
		got, err := b.rec.List(c, "b1", limit)
		if err != nil {
			t.Fatal(err)
		}
		n := len(want)
		if limit > 0 {
			n = min(limit, len(want))
		}
		if len(got) != n {
			t.Fatalf("limit %d: %d records, want %d", limit, len(got), n)
		}
		for i, d := range got {
			w := want[len(want)-1-i]
			if d.ID != w.ID || d.Status != w.Status || !d.At.Equal(w.At) {
				t.Fatalf("limit %d: record %d is %s %s %s, want %s %s %s", limit, i, d.ID, d.Status, d.At, w.ID, w.Status, w.At)
			}
		}
	}
}

// TestFindReadsTheReminder: Find returns the newest record of the
// reminder in one of the statuses, from the reminder's own subject or a
// legacy record, and nothing of another reminder.
func TestFindReadsTheReminder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := ctx(t)
	b.record(t, "b1", "r1", domain.Deferred)
	newest := b.record(t, "b1", "r1", domain.Deferred)
	b.record(t, "b1", "r2", domain.Sent)
	data := []byte(`{"id":"r3","borrower_id":"b1","status":"sent","provider_ref":"SM1"}`)
	if _, err := b.nats.JS.Publish(c, store.LegacyDeliverySubject("b1"), data); err != nil {
		t.Fatal(err)
	}
	type find func(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error)
	for name, f := range map[string]find{"any replica": b.rec.Find, "leader": b.rec.FindOnLeader} {
		t.Run(name, func(t *testing.T) {
			d, found, err := f(c, "b1", "r1", domain.Deferred)
			if err != nil || !found || d.Reason != newest.Reason {
				t.Fatalf("r1 deferred: %+v %v %v, want the newest deferral", d, found, err)
			}
			if _, found, err := f(c, "b1", "r1", domain.Sent, domain.Delivered); err != nil || found {
				t.Fatalf("r1 sent: found %v %v, want not found (r2 was sent, not r1)", found, err)
			}
			if d, found, err := f(c, "b1", "r3", domain.Sent); err != nil || !found || d.ProviderRef != "SM1" {
				t.Fatalf("r3 (legacy record): %+v %v %v", d, found, err)
			}
			if _, found, err := f(c, "b2", "r1", domain.Deferred); err != nil || found {
				t.Fatalf("another borrower: found %v %v", found, err)
			}
		})
	}
}

// TestRecordOnce: a record stored with a key is stored once, whether the
// repeat comes at the same time (the server's dedup window) or later (Seen
// finds it).
func TestRecordOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := ctx(t)
	d := domain.Delivery{ID: "r1", BorrowerID: "b1", Status: domain.Delivered, ProviderRef: "CA1"}
	if seen, err := b.rec.Seen(c, "b1", "r1", "key-1"); err != nil || seen {
		t.Fatalf("seen before any record: %v %v", seen, err)
	}
	var wg sync.WaitGroup
	stored := make(chan bool, 10)
	for range 10 {
		wg.Go(func() {
			ok, err := b.rec.RecordOnce(c, d, "key-1")
			if err != nil {
				t.Error(err)
			}
			stored <- ok
		})
	}
	wg.Wait()
	close(stored)
	n := 0
	for ok := range stored {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of 10 concurrent RecordOnce calls stored the record, want 1", n)
	}
	if seen, err := b.rec.Seen(c, "b1", "r1", "key-1"); err != nil || !seen {
		t.Fatalf("seen after the record: %v %v", seen, err)
	}
	if seen, err := b.rec.Seen(c, "b1", "r1", "key-2"); err != nil || seen {
		t.Fatalf("another key seen: %v %v", seen, err)
	}
	if list, err := b.rec.List(c, "b1", 0); err != nil || len(list) != 1 {
		t.Fatalf("%d records, want 1 (%v)", len(list), err)
	}
}

// TestClaimedNamesOtherRemindersRefs: the provider references a borrower's
// records give to other reminders on the channel, for a redelivered
// reminder's look-up to skip.
func TestClaimedNamesOtherRemindersRefs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := ctx(t)
	for _, d := range []domain.Delivery{
		{ID: "L1/overdue/0/sms", BorrowerID: "b1", Channel: domain.SMS, Status: domain.Sent, ProviderRef: "SM0"},
		{ID: "L1/overdue/0/sms", BorrowerID: "b1", Channel: domain.SMS, Status: domain.Delivered, ProviderRef: "SM0"},
		{ID: "L1/overdue/1/sms", BorrowerID: "b1", Channel: domain.SMS, Status: domain.Sent, ProviderRef: "SM1"},
		{ID: "L1/call/0/voice", BorrowerID: "b1", Channel: domain.Voice, Status: domain.Sent, ProviderRef: "CA0"},
		{ID: "L9/overdue/0/sms", BorrowerID: "b2", Channel: domain.SMS, Status: domain.Sent, ProviderRef: "SM9"},
	} {
		if err := b.rec.Record(c, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.rec.Claimed(c, "b1", domain.SMS, "L1/overdue/1/sms")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "SM0" {
		t.Errorf("Claimed = %v, want [SM0]: another reminder's SMS, once, not this one's, not a call, not another borrower's", got)
	}
}
