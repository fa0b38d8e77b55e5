package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// bundle is what an integration test works with.
type bundle struct {
	ctx   context.Context
	nats  *testkit.NATS
	state *store.State
	audit *audit.Recorder
	clock *clock.Fake
	zone  *time.Location
	sched *Scheduler
}

func setup(t testing.TB, now time.Time, mod ...func(*Options)) *bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, 2*time.Minute)
	st, err := store.OpenState(ctx, n.JS)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctx: ctx, nats: n, state: st, audit: audit.New(n.JS, "test"), clock: clock.NewFake(now),
		zone: mustZone(t, "Asia/Shanghai")}
	b.sched = b.newScheduler(t, n.JS, "a", mod...)
	return b
}

func (b *bundle) newScheduler(t testing.TB, js jetstream.JetStream, instance string, mod ...func(*Options)) *Scheduler {
	t.Helper()
	ps, err := Compile(config.ExamplePolicies())
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		JS: js, State: b.state, Audit: b.audit, Policies: ps, AgreementPolicy: "plan",
		DefaultTimezone: b.zone, Clock: b.clock, Log: logging.Discard(), Instance: instance,
	}
	for _, m := range mod {
		m(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func (b *bundle) putBorrower(t testing.TB, id, tz string) {
	t.Helper()
	if err := b.state.PutBorrower(b.ctx, domain.Borrower{ID: id, Name: id, Locale: "en-US", Timezone: tz}); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) putCase(t testing.TB, c domain.Case) {
	t.Helper()
	if c.Status == "" {
		c.Status = domain.LoanCurrent
	}
	if err := b.state.PutCase(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := b.sched.Reindex(b.ctx, KindLoan, c.LoanID); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) sweep(t testing.TB) Stats {
	t.Helper()
	st, err := b.sched.Sweep(b.ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return st
}

// reminders returns every reminder on the REMINDERS stream, in order.
func (b *bundle) reminders(t testing.TB) []domain.Reminder {
	t.Helper()
	s, err := b.nats.JS.Stream(b.ctx, store.RemindersStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Reminder
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(b.ctx, seq)
		if store.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var r domain.Reminder
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if want := store.ReminderSubject(string(r.Channel), r.BorrowerID); m.Subject != want {
			t.Errorf("reminder %s on %s, want %s", r.ID, m.Subject, want)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != r.ID {
			t.Errorf("reminder %s has Nats-Msg-Id %q", r.ID, got)
		}
		out = append(out, r)
	}
	return out
}

func ids(rs []domain.Reminder) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// revKey returns the current index entry of a subject, "" if none.
func (b *bundle) indexEntry(t testing.TB, kind, id string) string {
	t.Helper()
	e, err := b.sched.due.Get(b.ctx, subject{kind: kind, id: id}.revKey())
	if store.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeRecord(e.Value(), time.Now())
	return rec.Entry
}

// indexFuture writes n loan subjects due at `at` straight into the due
// bucket with pipelined publishes (what a long-running system has
// accumulated), without going through intake.
func indexFuture(t testing.TB, ctx context.Context, js jetstream.JetStream, n int, at time.Time, prefix string) {
	t.Helper()
	var a acks
	w := newKVWrites(js, store.DueBucket)
	for i := 0; i < n; i++ {
		sub := subject{kind: KindLoan, id: fmt.Sprintf("%s%d", prefix, i)}
		key := sub.timeKey(at.Add(time.Duration(i%1440) * time.Minute))
		a.add(w.put(key, nil, false, 0))
		a.add(w.put(sub.revKey(), []byte(key), false, 0))
		if a.len() >= 2000 {
			if err := a.wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// putCasesFast writes n cases (and their now-lane index entries) with
// pipelined publishes, for benchmarks.
func putCasesFast(t testing.TB, ctx context.Context, js jetstream.JetStream, n int, mk func(i int) domain.Case) {
	t.Helper()
	var a acks
	due := newKVWrites(js, store.DueBucket)
	for i := 0; i < n; i++ {
		c := mk(i)
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		a.add(js.PublishMsgAsync(&nats.Msg{Subject: "$KV." + store.CasesBucket + "." + store.Token(c.LoanID), Data: data}))
		sub := subject{kind: KindLoan, id: c.LoanID}
		a.add(due.put(sub.nowKey(), nil, false, 0))
		a.add(due.put(sub.revKey(), []byte(sub.nowKey()), false, 0))
		if a.len() >= 2000 {
			if err := a.wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
}
