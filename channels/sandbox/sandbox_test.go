package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/sandbox"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

func ctx(t testing.TB) context.Context { return testkit.Context(t, 30*time.Second) }

var seq atomic.Int64

func message(borrower string) channels.Message {
	n := seq.Add(1)
	return channels.Message{
		ReminderID: fmt.Sprintf("loan-%d/overdue/%d/sms", n, n%3), BorrowerID: borrower,
		LoanID: fmt.Sprintf("loan-%d", n), Channel: domain.SMS, To: "+8613812345678",
		Text: fmt.Sprintf("Please pay loan %d", n),
	}
}

func outboxCount(t testing.TB, js jetstream.JetStream) int {
	s, err := js.Stream(ctx(t), store.OutboxStream)
	if err != nil {
		t.Fatal(err)
	}
	return int(s.CachedInfo().State.Msgs)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	channeltest.Run(t, func(t *testing.T) channeltest.Harness {
		n := testkit.StartNATS(t)
		return channeltest.Harness{
			Provider: sandbox.New(n.JS, domain.SMS),
			Message:  func() channels.Message { return message("b-1") },
			Calls:    func() int { return outboxCount(t, n.JS) },
		}
	})
}

func TestSendStoresEntry(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := sandbox.New(n.JS, domain.Email, sandbox.WithClock(clock.NewFake(at)))
	msg := message("user@example.com")
	msg.Subject = "Due"
	res, err := p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != domain.Delivered || res.ProviderRef != "outbox-1" {
		t.Errorf("result = %+v, want {outbox-1 delivered}", res)
	}
	s, err := n.JS.Stream(ctx(t), store.OutboxStream)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.GetMsg(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := store.OutboxSubject("email", "user@example.com"); raw.Subject != want {
		t.Errorf("subject = %q, want %q", raw.Subject, want)
	}
	if got := raw.Header.Get(jetstream.MsgIDHeader); got != msg.ReminderID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, msg.ReminderID)
	}
	got, err := sandbox.List(ctx(t), n.JS, "", "", 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %+v, %v", got, err)
	}
	want := sandbox.Entry{ID: msg.ReminderID, BorrowerID: msg.BorrowerID, LoanID: msg.LoanID, Channel: domain.Email,
		To: msg.To, Subject: "Due", Text: msg.Text, At: at, ProviderRef: "outbox-1"}
	if got[0] != want {
		t.Errorf("entry = %+v, want %+v", got[0], want)
	}
}

func TestResendIsDeduplicated(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	p := sandbox.New(n.JS, domain.SMS)
	msg := message("b-1")
	r1, err := p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx(t), message("b-1")); err != nil {
		t.Fatal(err)
	}
	r2, err := p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	if r1 != r2 {
		t.Errorf("resend result %+v, first %+v", r2, r1)
	}
	if got := outboxCount(t, n.JS); got != 2 {
		t.Errorf("outbox has %d messages, want 2", got)
	}
}

func TestSendRejectsIncompleteMessage(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	p := sandbox.New(n.JS, domain.SMS)
	for _, m := range []channels.Message{{ReminderID: "r"}, {BorrowerID: "b"}} {
		if _, err := p.Send(ctx(t), m); channels.Classify(err) != channels.Permanent {
			t.Errorf("Send(%+v) = %v, want permanent", m, err)
		}
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	fc := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	providers := map[domain.Channel]*sandbox.Provider{}
	for _, ch := range domain.Channels {
		providers[ch] = sandbox.New(n.JS, ch, sandbox.WithClock(fc))
	}
	// 400 messages: 4 channels x 4 borrowers (one with an odd id, one whose
	// id prefixes another) round-robin, so every filter's matches are
	// spread across the stream.
	borrowers := []string{"b-1", "b-10", "user@example.com", "b-2"}
	type sent struct {
		ch       domain.Channel
		borrower string
		id       string
	}
	var all []sent
	for i := 0; i < 400; i++ {
		ch := domain.Channels[i%4]
		b := borrowers[(i/4)%4]
		m := message(b)
		if _, err := providers[ch].Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{ch, b, m.ReminderID})
		fc.Advance(time.Second)
	}
	expect := func(ch, b string, limit int) []string {
		var ids []string
		for i := len(all) - 1; i >= 0 && len(ids) < limit; i-- {
			if (ch == "" || string(all[i].ch) == ch) && (b == "" || all[i].borrower == b) {
				ids = append(ids, all[i].id)
			}
		}
		return ids
	}
	tests := []struct {
		channel, borrower string
		limit, wantN      int
	}{
		{"", "", 0, 100},
		{"", "", 5, 5},
		{"", "", 1000, 400},
		{"sms", "", 0, 100},
		{"voice", "", 30, 30},
		{"", "b-1", 0, 100},
		{"", "b-1", 7, 7},
		{"email", "user@example.com", 0, 25},
		{"inapp", "b-10", 3, 3},
		{"sms", "nobody", 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.channel, tt.borrower, tt.limit), func(t *testing.T) {
			t.Parallel()
			got, err := sandbox.List(ctx(t), n.JS, tt.channel, tt.borrower, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			limit := tt.limit
			if limit <= 0 {
				limit = sandbox.DefaultLimit
			}
			want := expect(tt.channel, tt.borrower, limit)
			if len(got) != tt.wantN || len(want) != tt.wantN {
				t.Fatalf("List returned %d entries, expected %d (want %d)", len(got), len(want), tt.wantN)
			}
			for i := range got {
				if got[i].ID != want[i] {
					t.Fatalf("entry %d = %s, want %s (newest first)", i, got[i].ID, want[i])
				}
				if i > 0 && got[i].At.After(got[i-1].At) {
					t.Fatalf("entries not newest first at %d", i)
				}
			}
		})
	}
	if _, err := sandbox.List(ctx(t), n.JS, "fax", "", 0); !errors.Is(err, sandbox.ErrUnknownChannel) {
		t.Errorf("List(fax) = %v, want ErrUnknownChannel", err)
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	got, err := sandbox.List(ctx(t), n.JS, "", "", 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("List on an empty outbox = %#v, %v; want empty non-nil", got, err)
	}
}

func TestLookupAfterDedupWindow(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	p := sandbox.New(n.JS, domain.Voice)
	msg := message("b-1")
	// Other reminders of the same borrower around it.
	for i := 0; i < 3; i++ {
		if _, err := p.Send(ctx(t), message("b-1")); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx(t), message("b-1")); err != nil {
		t.Fatal(err)
	}
	got, found, err := p.Lookup(ctx(t), msg)
	if err != nil || !found || got != res {
		t.Fatalf("Lookup = %+v found=%v err=%v, want %+v", got, found, err, res)
	}
	// Another channel's provider does not see it.
	if _, found, err := sandbox.New(n.JS, domain.SMS).Lookup(ctx(t), msg); err != nil || found {
		t.Errorf("sms Lookup of a voice message: found=%v err=%v", found, err)
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	p := sandbox.New(n.JS, domain.SMS)
	const workers, each = 16, 100
	var wg sync.WaitGroup
	refs := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := p.Send(ctx(t), message(fmt.Sprintf("b-%d", i%10)))
				if err != nil {
					t.Error(err)
					return
				}
				refs <- r.ProviderRef
			}
		}()
	}
	wg.Wait()
	close(refs)
	seen := map[string]bool{}
	for r := range refs {
		if seen[r] {
			t.Fatalf("duplicate ref %s", r)
		}
		seen[r] = true
	}
	if got := outboxCount(t, n.JS); got != workers*each {
		t.Errorf("outbox has %d messages, want %d", got, workers*each)
	}
}

// BenchmarkSend measures sends through the sandbox with 64 concurrent
// senders, the default SMS worker concurrency.
func BenchmarkSend(b *testing.B) {
	n := testkit.StartNATS(b)
	p := sandbox.New(n.JS, domain.SMS)
	msgs := make([]channels.Message, b.N)
	for i := range msgs {
		msgs[i] = message(fmt.Sprintf("b-%d", i%1000))
	}
	var next atomic.Int64
	c := ctx(b)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := p.Send(c, msgs[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkList measures the newest page of a 100k-message outbox, with no
// filter and with one borrower's filter.
func BenchmarkList(b *testing.B) {
	n := testkit.StartNATS(b)
	p := sandbox.New(n.JS, domain.SMS)
	const total = 100_000
	var wg sync.WaitGroup
	c := ctx(b)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 64 {
				if _, err := p.Send(c, message(fmt.Sprintf("b-%d", i%5000))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, borrower := range []string{"", "b-42"} {
		for _, ch := range []string{"", "sms"} {
			b.Run("channel="+ch+",borrower="+borrower, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					got, err := sandbox.List(c, n.JS, ch, borrower, 0)
					if err != nil || len(got) == 0 {
						b.Fatalf("List = %d entries, %v", len(got), err)
					}
				}
			})
		}
	}
}

// TestReadsNeedNoConsumer: List (GET /v1/outbox) and Lookup (a worker's
// check before resending) work with the outbox stream's consumers all
// taken: they read stored messages by subject instead of making a consumer
// per read, which failed once the stream's limit was reached.
func TestReadsNeedNoConsumer(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	p := sandbox.New(n.JS, domain.SMS)
	msg := message("b-1")
	res, err := p.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	// The server's limit is 1,000 consumers per stream; a limit of 3
	// fills faster and means the same.
	s, err := n.JS.Stream(ctx(t), store.OutboxStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxConsumers = 3
	if _, err := n.JS.UpdateStream(ctx(t), cfg); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := n.JS.CreateConsumer(ctx(t), store.OutboxStream, jetstream.ConsumerConfig{
			Name: fmt.Sprintf("filler-%d", i), AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	for _, borrower := range []string{"", "b-1"} {
		got, err := sandbox.List(ctx(t), n.JS, "sms", borrower, 10)
		if err != nil || len(got) != 1 || got[0].ID != msg.ReminderID {
			t.Fatalf("List(sms, %q) with the consumer limit reached = %+v, %v", borrower, got, err)
		}
	}
	if got, found, err := p.Lookup(ctx(t), msg); err != nil || !found || got != res {
		t.Fatalf("Lookup with the consumer limit reached = %+v, %v, %v", got, found, err)
	}
}
