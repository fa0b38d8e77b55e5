package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/testkit"
)

type bundle struct {
	nats  *testkit.NATS
	clock *clock.Fake
	read  *stats.Reader
}

// setup starts NATS with forbear's streams and the four channel consumers
// (as the workers create them), and a Reader on a fake clock.
func setup(t *testing.T, now time.Time) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	for _, ch := range domain.Channels {
		if _, err := n.JS.CreateOrUpdateConsumer(ctx, store.RemindersStream, jetstream.ConsumerConfig{
			Durable: dispatcher.ConsumerName(ch), FilterSubject: store.RemindersPrefix + string(ch) + ".>",
			AckPolicy: jetstream.AckExplicitPolicy,
		}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewFake(now)
	r, err := stats.NewReader(ctx, n.JS, clk)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{nats: n, clock: clk, read: r}
}

func (b *bundle) snapshot(t *testing.T) stats.Snapshot {
	t.Helper()
	s, err := b.read.Read(testkit.Context(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// counter is a Counter of instance name on its own connection, as a second
// instance would have.
func (b *bundle) counter(t *testing.T, name string) *stats.Counter {
	t.Helper()
	_, js := b.nats.Connect(t)
	c, err := stats.NewCounter(testkit.Context(t, time.Minute), js, stats.CounterOptions{Instance: name, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func record(at time.Time, ch domain.Channel, st domain.Status) domain.Delivery {
	return domain.Delivery{ID: "r", BorrowerID: "b", Channel: ch, Status: st, At: at}
}

// TestCountsOfTwoInstancesAreSummed: two instances count what each
// records and fold into the bucket; the reader sums them per channel and
// status for the last 24 hours and the last 7 days, and per hour.
func TestCountsOfTwoInstancesAreSummed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	b := setup(t, now)
	ctx := testkit.Context(t, time.Minute)
	a, c := b.counter(t, "A"), b.counter(t, "B")
	twoDaysAgo := now.Add(-48 * time.Hour)
	tooOld := now.Add(-8 * 24 * time.Hour)
	for range 3 {
		a.Add(record(now, domain.SMS, domain.Sent))
	}
	a.Add(record(now, domain.SMS, domain.Capped))
	a.Add(record(twoDaysAgo, domain.Voice, domain.Suppressed))
	a.Add(record(tooOld, domain.SMS, domain.Sent))
	c.Add(record(now, domain.SMS, domain.Sent))
	c.Add(record(now.Add(-time.Hour), domain.Email, domain.Deferred))
	for _, x := range []*stats.Counter{a, c} {
		if err := x.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A second fold with nothing new adds nothing.
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := b.snapshot(t)
	day, week := s.Deliveries.Last24h, s.Deliveries.Last7d
	checks := []struct {
		what      string
		got, want int64
	}{
		{"24h sms sent", day.ByChannel["sms"]["sent"], 4},
		{"24h sms capped", day.ByChannel["sms"]["capped"], 1},
		{"24h email deferred", day.ByChannel["email"]["deferred"], 1},
		{"24h voice suppressed", day.ByChannel["voice"]["suppressed"], 0},
		{"24h capped", day.ByStatus["capped"], 1},
		{"24h total", day.Total, 6},
		{"7d voice suppressed", week.ByChannel["voice"]["suppressed"], 1},
		{"7d suppressed", week.ByStatus["suppressed"], 1},
		{"7d sms sent (the 8-day-old one left out)", week.ByChannel["sms"]["sent"], 4},
		{"7d total", week.Total, 7},
		{"7d inapp queued (a zero, present)", week.ByChannel["inapp"]["queued"], 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if _, ok := week.ByChannel["inapp"]["queued"]; !ok {
		t.Errorf("totals leave out a zero count: %v", week.ByChannel["inapp"])
	}
	if n := len(s.Deliveries.Hourly); n != stats.Hours {
		t.Fatalf("%d hours, want %d", n, stats.Hours)
	}
	last := s.Deliveries.Hourly[stats.Hours-1]
	if !last.Start.Equal(now.Truncate(time.Hour)) || last.Counts["sms"]["sent"] != 4 {
		t.Errorf("current hour = %+v, want 4 SMS sent from 10:00", last)
	}
	if got := s.Deliveries.Hourly[stats.Hours-2].Counts["email"]["deferred"]; got != 1 {
		t.Errorf("previous hour's deferred email = %d, want 1", got)
	}
}

// TestAFoldThatFailsLosesNothing: counts whose fold fails (NATS does not
// answer in time) are kept and land with the next fold, once.
func TestAFoldThatFailsLosesNothing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	b := setup(t, now)
	a := b.counter(t, "A")
	a.Add(record(now, domain.SMS, domain.Sent))
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Flush(dead); err == nil {
		t.Fatal("a fold with a cancelled context succeeded")
	}
	a.Add(record(now, domain.SMS, domain.Sent))
	ctx := testkit.Context(t, time.Minute)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The count made while the first fold was pending waits for the next.
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.snapshot(t).Deliveries.Last24h.ByChannel["sms"]["sent"]; got != 2 {
		t.Errorf("sms sent = %d after a failed fold, want 2", got)
	}
}

// TestStartFoldsAndStopFoldsTheRest: a started counter folds on its own
// every interval, and Stop folds what is left.
func TestStartFoldsAndStopFoldsTheRest(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	b := setup(t, now)
	_, js := b.nats.Connect(t)
	ctx := testkit.Context(t, time.Minute)
	a, err := stats.NewCounter(ctx, js, stats.CounterOptions{Instance: "A", Interval: 50 * time.Millisecond, Log: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	a.Add(record(now, domain.InApp, domain.Delivered))
	testkit.Eventually(t, 30*time.Second, "the folded count", func() bool {
		return b.snapshot(t).Deliveries.Last24h.ByChannel["inapp"]["delivered"] == 1
	})
	a.Add(record(now, domain.InApp, domain.Delivered))
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.snapshot(t).Deliveries.Last24h.ByChannel["inapp"]["delivered"]; got != 2 {
		t.Errorf("after Stop: %d, want 2", got)
	}
}

// TestHeartbeatsListTheInstancesUntilStop: each instance is listed once
// its heartbeat started, and leaves the list when it stops.
func TestHeartbeatsListTheInstancesUntilStop(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Now())
	ctx := testkit.Context(t, time.Minute)
	var beats []*stats.Heartbeat
	for _, name := range []string{"A", "B"} {
		_, js := b.nats.Connect(t)
		h, err := stats.NewHeartbeat(ctx, js, stats.Instance{Name: name, Host: "h-" + name, Version: "1.2.3", HTTP: "127.0.0.1:80"}, logging.Discard())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		beats = append(beats, h)
	}
	got := b.snapshot(t).Instances
	if len(got) != 2 || got[0].Name != "A" || got[1].Name != "B" {
		t.Fatalf("instances = %+v, want A and B", got)
	}
	if got[0].Host != "h-A" || got[0].Version != "1.2.3" || got[0].HTTP != "127.0.0.1:80" || got[0].Started.IsZero() || got[0].Beat.IsZero() {
		t.Errorf("instance A = %+v", got[0])
	}
	if err := beats[0].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got = b.snapshot(t).Instances
	if len(got) != 1 || got[0].Name != "B" {
		t.Fatalf("after A stopped: instances = %+v, want B only", got)
	}
	if err := beats[1].Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeferredRemindersAndDeadLettersAreListed: a reminder waiting in the
// stream's message scheduler is listed with when it comes back, and
// dead-lettered events are counted and listed newest first with their
// reason, without their data.
func TestDeferredRemindersAndDeadLettersAreListed(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Now())
	ctx := testkit.Context(t, time.Minute)
	js := b.nats.JS
	at := time.Now().Add(2 * time.Hour).Truncate(time.Second).UTC()
	rem := domain.Reminder{ID: "L-1/overdue/2/sms", BorrowerID: "b-1", LoanID: "L-1", Channel: domain.SMS, Step: "overdue"}
	data, _ := json.Marshal(rem)
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: store.SchedulesPrefix + store.Token(rem.ID), Data: data},
		jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(store.ReminderSubject("sms", "b-1"))); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"ev-1", "ev-2"} {
		m := nats.NewMsg(store.DLQEventsSubject)
		m.Data = []byte(`{"specversion":"1.0","id":"` + id + `","type":"loan.updated","data":{"phone":"+8613800000001"}}`)
		m.Header.Set(intake.HeaderDLQReason, "data.due_date: not a date "+id)
		m.Header.Set(intake.HeaderDLQField, "data.due_date")
		m.Header.Set(intake.HeaderDLQSubject, "forbear.events.loan.updated")
		if i == 1 {
			m.Data = []byte("not json")
			m.Header.Set("ce-id", id)
			m.Header.Set("ce-type", "loan.updated")
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	s := b.snapshot(t)
	if s.Deferred.Count != 1 || len(s.Deferred.Newest) != 1 {
		t.Fatalf("deferred = %+v, want the one reminder", s.Deferred)
	}
	d := s.Deferred.Newest[0]
	if d.ReminderID != rem.ID || d.BorrowerID != "b-1" || d.Channel != domain.SMS || !d.Until.Equal(at) {
		t.Errorf("deferred reminder = %+v, want %s back at %s", d, rem.ID, at)
	}
	if s.Refused.Count != 2 || len(s.Refused.Newest) != 2 {
		t.Fatalf("refused = %+v, want two", s.Refused)
	}
	newest, older := s.Refused.Newest[0], s.Refused.Newest[1]
	if newest.EventID != "ev-2" || newest.EventType != "loan.updated" || older.EventID != "ev-1" {
		t.Errorf("refused events = %+v, want ev-2 then ev-1", s.Refused.Newest)
	}
	if older.Reason != "data.due_date: not a date ev-1" || older.Field != "data.due_date" || older.Subject != "forbear.events.loan.updated" {
		t.Errorf("refused ev-1 = %+v", older)
	}
	out, _ := json.Marshal(s.Refused)
	if strings.Contains(string(out), "+8613800000001") {
		t.Errorf("the dashboard shows a refused event's data: %s", out)
	}
}

// TestQueueDepthAndSweepLease: reminders waiting for a channel's consumer
// are its queue depth; the sweep lease's holder is named while it holds
// it, and nobody once it expired.
func TestQueueDepthAndSweepLease(t *testing.T) {
	t.Parallel()
	now := time.Now()
	b := setup(t, now)
	ctx := testkit.Context(t, time.Minute)
	for range 2 {
		if _, err := b.nats.JS.Publish(ctx, store.ReminderSubject("voice", "b-1"), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	leases, err := b.nats.JS.KeyValue(ctx, store.LeasesBucket)
	if err != nil {
		t.Fatal(err)
	}
	expires := now.Add(15 * time.Second).UTC()
	if _, err := leases.Put(ctx, "scheduler", fmt.Appendf(nil, `{"holder":"A","expires":%q}`, expires.Format(time.RFC3339Nano))); err != nil {
		t.Fatal(err)
	}
	s := b.snapshot(t)
	if s.QueueDepth[domain.Voice] != 2 || s.QueueDepth[domain.SMS] != 0 || len(s.QueueDepth) != 4 {
		t.Errorf("queue depth = %v, want voice 2 and zeros", s.QueueDepth)
	}
	if s.SweepLease == nil || s.SweepLease.Holder != "A" || !s.SweepLease.Expires.Equal(expires) {
		t.Errorf("sweep lease = %+v, want A until %s", s.SweepLease, expires)
	}
	b.clock.Set(expires)
	if s := b.snapshot(t); s.SweepLease != nil {
		t.Errorf("expired sweep lease still named: %+v", s.SweepLease)
	}
}
