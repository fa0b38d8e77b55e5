package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// consumers is how many consumers a stream of the instance has.
func (b *bundle) consumers(t *testing.T, stream string) int {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	s, err := b.app.JetStream().Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

// TestDeliveriesReadThousandsOfTimes: the audit trail page answers 5,000
// reads in a row and leaves no consumer behind. Each read used to leave an
// ordered consumer on the stream, and after about 1,000 of them every read
// answered 500.
func TestDeliveriesReadThousandsOfTimes(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-many")
	ctx := testkit.Context(t, time.Minute)
	for i := range 3 {
		d := domain.Delivery{ID: fmt.Sprintf("loan-1/overdue/%d/sms", i), BorrowerID: "b-many", Channel: domain.SMS,
			Status: domain.Sent, At: time.Now()}
		if err := b.app.Audit().Record(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	before := b.consumers(t, "FORBEAR_DELIVERIES")
	for i := range 5000 {
		r := b.get(t, "/v1/borrowers/b-many/deliveries?limit=2", tokSupport)
		if r.status != http.StatusOK {
			t.Fatalf("read %d: %d %s", i, r.status, r.body)
		}
		got := decode[struct{ Deliveries []domain.Delivery }](t, r)
		if len(got.Deliveries) != 2 || got.Deliveries[0].ID != "loan-1/overdue/2/sms" {
			t.Fatalf("read %d: %s, want the newest 2 records", i, r.body)
		}
	}
	if after := b.consumers(t, "FORBEAR_DELIVERIES"); after != before {
		t.Fatalf("%d consumers on the stream after the reads, %d before", after, before)
	}
}

// stream is an open inbox stream.
type stream struct {
	lines  *bufio.Reader
	cancel context.CancelFunc
}

// openStream asks for a borrower's inbox stream. A 200 stays open (until
// cancel or the test's end) once its first line is in; anything else is
// returned read.
func (b *bundle) openStream(t *testing.T, borrower, token string) (*stream, response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/v1/borrowers/"+borrower+"/inbox/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream %s: %v", borrower, err)
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		cancel()
		return nil, response{status: res.StatusCode, header: res.Header, body: body}
	}
	t.Cleanup(func() { res.Body.Close() })
	s := &stream{lines: bufio.NewReader(res.Body), cancel: cancel}
	if line, err := s.lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("stream %s: first line %q, %v", borrower, line, err)
	}
	return s, response{status: res.StatusCode, header: res.Header}
}

// nextData reads the stream until an event's data line.
func (s *stream) nextData(t *testing.T) string {
	t.Helper()
	for {
		line, err := s.lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			return strings.TrimSpace(data)
		}
	}
}

func (b *bundle) borrowerToken(t *testing.T, borrower string) string {
	t.Helper()
	r := b.post(t, "/v1/borrowers/"+borrower+"/token", tokSupport, "")
	if r.status != http.StatusCreated {
		t.Fatalf("token of %s: %d %s", borrower, r.status, r.body)
	}
	return decode[map[string]string](t, r)["token"]
}

// TestInboxStreamCaps: 1,000 stream requests with one borrower's token get
// 429 beyond the per-token cap; support's token adds streams up to the
// per-borrower cap; other borrowers' inbox reads and streams still work,
// one KV watcher serves every stream, and a closed stream frees its place.
// Each stream used to open its own watcher, and 1,000 of them made other
// borrowers' inbox reads answer 500.
func TestInboxStreamCaps(t *testing.T) {
	t.Parallel()
	b := setup(t, roleTokens)
	b.addBorrower(t, "b-one")
	b.addBorrower(t, "b-two")
	own := b.borrowerToken(t, "b-one")
	const perToken, perBorrower = 4, 8 // the defaults

	var mine []*stream
	for i := range 1000 {
		s, r := b.openStream(t, "b-one", own)
		switch r.status {
		case http.StatusOK:
			mine = append(mine, s)
			if len(mine) > perToken {
				t.Fatalf("attempt %d: stream %d of one token accepted, want at most %d", i, len(mine), perToken)
			}
		case http.StatusTooManyRequests:
			if e := wantError(t, r, http.StatusTooManyRequests); e.Error.Code != "too_many_streams" {
				t.Fatalf("attempt %d: code %q, want too_many_streams", i, e.Error.Code)
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
	}
	if len(mine) != perToken {
		t.Fatalf("%d streams of one token, want %d", len(mine), perToken)
	}
	var desk []*stream
	for range perBorrower - perToken {
		s, r := b.openStream(t, "b-one", tokSupport)
		if r.status != http.StatusOK {
			t.Fatalf("support's stream of b-one: %d %s", r.status, r.body)
		}
		desk = append(desk, s)
	}
	if _, r := b.openStream(t, "b-one", tokAdmin); r.status != http.StatusTooManyRequests {
		t.Fatalf("stream %d of b-one (another token): %d %s, want 429", perBorrower+1, r.status, r.body)
	}

	if r := b.get(t, "/v1/borrowers/b-two/inbox", tokSupport); r.status != http.StatusOK {
		t.Fatalf("b-two's inbox: %d %s", r.status, r.body)
	}
	other, r := b.openStream(t, "b-two", b.borrowerToken(t, "b-two"))
	if r.status != http.StatusOK {
		t.Fatalf("b-two's stream: %d %s", r.status, r.body)
	}
	if n := b.consumers(t, "KV_forbear_inbox"); n != 1 {
		t.Fatalf("%d consumers on the inbox bucket for %d streams, want 1 shared watcher", n, perBorrower+1)
	}

	// Every stream of b-one gets b-one's new message.
	kv, err := b.app.JetStream().KeyValue(testkit.Context(t, time.Minute), "forbear_inbox")
	if err != nil {
		t.Fatal(err)
	}
	msg := `{"id":"r-1","title":"Payment due","body":"Please pay","at":"2026-11-20T10:00:00Z","read":false}`
	if _, err := kv.Put(testkit.Context(t, time.Minute), "b-one.r-1", []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for i, s := range append(mine, desk...) {
		if got := s.nextData(t); got != msg {
			t.Fatalf("stream %d of b-one got %s, want %s", i, got, msg)
		}
	}
	_ = other

	// A closed stream gives its place back.
	mine[0].cancel()
	testkit.Eventually(t, 10*time.Second, "a place for the borrower's token again", func() bool {
		s, r := b.openStream(t, "b-one", own)
		if s != nil {
			s.cancel()
		}
		return r.status == http.StatusOK
	})
}
