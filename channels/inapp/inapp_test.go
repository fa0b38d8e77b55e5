package inapp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/channeltest"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

type bundle struct {
	ib    *inapp.Inbox
	nats  *testkit.NATS
	clock *clock.Fake
}

func setup(t *testing.T, opts ...inapp.Option) bundle {
	t.Helper()
	n := testkit.StartNATS(t)
	fc := clock.NewFake(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	ib, err := inapp.New(n.JS, append([]inapp.Option{inapp.WithClock(fc)}, opts...)...)
	if err != nil {
		t.Fatalf("inapp.New: %v", err)
	}
	return bundle{ib: ib, nats: n, clock: fc}
}

var seq atomic.Int64

func message(borrower string) channels.Message {
	n := seq.Add(1)
	return channels.Message{
		ReminderID: fmt.Sprintf("loan-%d/pre-due/0/inapp", n), BorrowerID: borrower, LoanID: fmt.Sprintf("loan-%d", n),
		Channel: domain.InApp, To: borrower, Subject: "Payment due", Text: fmt.Sprintf("Please pay loan %d", n),
	}
}

func ctx(t *testing.T) context.Context { return testkit.Context(t, 30*time.Second) }

// values counts every write to the bucket: each one is a provider call that
// reached the backend.
func (b bundle) values(t *testing.T) int {
	kv, err := b.nats.JS.KeyValue(ctx(t), store.InboxBucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Values())
}

func TestConformance(t *testing.T) {
	t.Parallel()
	channeltest.Run(t, func(t *testing.T) channeltest.Harness {
		b := setup(t)
		return channeltest.Harness{
			Provider: b.ib,
			Message:  func() channels.Message { return message("b-1") },
			Calls:    func() int { return b.values(t) },
		}
	})
}

func TestResendMakesOneMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	msg := message("b-1")
	r1, err := b.ib.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Hour)
	r2, err := b.ib.Send(ctx(t), msg)
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	if r1 != r2 || r1.ProviderRef != msg.ReminderID || r1.Status != domain.Delivered {
		t.Errorf("results %+v and %+v, want both {%s delivered}", r1, r2, msg.ReminderID)
	}
	got, err := b.ib.List(ctx(t), "b-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("inbox has %d messages after a resend, want 1: %+v", len(got), got)
	}
	if !got[0].At.Equal(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("resend changed the message time to %s", got[0].At)
	}
}

func TestListNewestFirstAndPerBorrower(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// An id with characters that are not subject-safe, and a borrower whose
	// id is a prefix of another's.
	odd := "user@example.com/42"
	var sent []channels.Message
	for i := 0; i < 3; i++ {
		m := message(odd)
		if _, err := b.ib.Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
		b.clock.Advance(time.Minute)
	}
	for _, other := range []string{"user@example.com/4", "user@example.com/420"} {
		if _, err := b.ib.Send(ctx(t), message(other)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.ib.List(ctx(t), odd)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("List = %d messages, want 3: %+v", len(got), got)
	}
	for i, m := range got {
		want := sent[2-i]
		if m.ID != want.ReminderID || m.Title != want.Subject || m.Body != want.Text || m.Read {
			t.Errorf("List[%d] = %+v, want %s unread", i, m, want.ReminderID)
		}
	}
	empty, err := b.ib.List(ctx(t), "nobody")
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("List(nobody) = %#v, %v; want an empty, non-nil list", empty, err)
	}
}

func TestMessageJSON(t *testing.T) {
	t.Parallel()
	m := inapp.Message{ID: "l/s/0/inapp", Title: "t", Body: "b", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"l/s/0/inapp","title":"t","body":"b","at":"2026-01-02T03:04:05Z","read":false}`
	if string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := message("b-1")
	if _, err := b.ib.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // marking twice is fine
		if err := b.ib.MarkRead(ctx(t), "b-1", m.ReminderID); err != nil {
			t.Fatalf("MarkRead: %v", err)
		}
	}
	got, err := b.ib.List(ctx(t), "b-1")
	if err != nil || len(got) != 1 || !got[0].Read {
		t.Fatalf("List after MarkRead = %+v, %v", got, err)
	}
	if err := b.ib.MarkRead(ctx(t), "b-1", "missing"); !errors.Is(err, inapp.ErrNotFound) {
		t.Errorf("MarkRead(missing) = %v, want ErrNotFound", err)
	}
	if err := b.ib.MarkRead(ctx(t), "b-2", m.ReminderID); !errors.Is(err, inapp.ErrNotFound) {
		t.Errorf("MarkRead of another borrower's message = %v, want ErrNotFound", err)
	}
}

func TestSendNeedsBorrowerAndReminder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, m := range []channels.Message{{ReminderID: "r"}, {To: "b-1"}} {
		if _, err := b.ib.Send(ctx(t), m); channels.Classify(err) != channels.Permanent {
			t.Errorf("Send(%+v) = %v, want permanent error", m, err)
		}
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := message("b-1")
	if _, err := b.ib.Send(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	ch, err := b.ib.Stream(sctx, "b-1")
	if err != nil {
		t.Fatal(err)
	}
	// Neither a read mark on an old message nor another borrower's message
	// is news for this stream.
	if err := b.ib.MarkRead(ctx(t), "b-1", old.ReminderID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ib.Send(ctx(t), message("b-2")); err != nil {
		t.Fatal(err)
	}
	fresh := message("b-1")
	if _, err := b.ib.Send(ctx(t), fresh); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if m.ID != fresh.ReminderID {
			t.Fatalf("first streamed message = %s, want %s", m.ID, fresh.ReminderID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message on the stream within 10s")
	}
	cancel()
	select {
	case _, ok := <-ch:
		for ok { // drain, then expect the close
			_, ok = <-ch
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream not closed after cancel")
	}
}

// sse opens the stream over HTTP and returns a reader of its lines.
func sse(t *testing.T, b bundle, borrower string) (*bufio.Reader, *http.Response) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.ib.ServeStream(w, r, borrower)
	}))
	t.Cleanup(srv.Close)
	// Cleanups run last-in first-out: the request ends before the server
	// closes, so Close does not wait on a live stream.
	rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET stream: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream response %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return bufio.NewReader(resp.Body), resp
}

// nextEvent reads lines until a complete event with a data line; comment
// lines are returned in comments. The request context bounds the wait.
func nextEvent(t *testing.T, r *bufio.Reader) (event, data string, comments []string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v (event=%q data=%q)", err, event, data)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if data != "" {
				return event, data, comments
			}
		case strings.HasPrefix(line, ":"):
			comments = append(comments, line)
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestServeStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, _ := sse(t, b, "b-1")
	// Headers are in: the watch exists, so this message must arrive.
	m := message("b-1")
	m.Text = "line one\nline two </script>"
	if _, err := b.ib.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	event, data, _ := nextEvent(t, r)
	if event != "message" {
		t.Errorf("event = %q, want message", event)
	}
	var got inapp.Message
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatalf("data %q: %v", data, err)
	}
	if got.ID != m.ReminderID || got.Body != m.Text || got.Title != m.Subject || got.Read {
		t.Errorf("streamed %+v, want %s", got, m.ReminderID)
	}
}

func TestServeStreamHeartbeat(t *testing.T) {
	t.Parallel()
	b := setup(t, inapp.WithHeartbeat(10*time.Millisecond))
	r, _ := sse(t, b, "b-1")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if line == ": heartbeat\n" {
			return
		}
	}
}
