package audit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/testkit"
)

// TestObserverSeesEveryRecordWritten: the observer (the dashboard's
// counter) is told about each record written through Record, RecordAsync
// (the sweep's queued lines) and RecordOnce, and not about a repeat that
// RecordOnce's dedup drops.
func TestObserverSeesEveryRecordWritten(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	var mu sync.Mutex
	var seen []domain.Status
	rec := audit.New(n.JS, "test", audit.WithObserver(func(d domain.Delivery) {
		mu.Lock()
		seen = append(seen, d.Status)
		mu.Unlock()
	}))
	ctx := testkit.Context(t, time.Minute)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d := func(status domain.Status) domain.Delivery {
		return domain.Delivery{ID: "r1", BorrowerID: "b1", Channel: domain.SMS, Status: status, At: at}
	}
	f, err := rec.RecordAsync(d(domain.Queued))
	if err != nil {
		t.Fatal(err)
	}
	<-f.Ok()
	if err := rec.Record(ctx, d(domain.Sent)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := rec.RecordOnce(ctx, d(domain.Delivered), "r1/delivered/SM1"); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []domain.Status{domain.Queued, domain.Sent, domain.Delivered}
	if len(seen) != len(want) {
		t.Fatalf("observer saw %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("observer saw %v, want %v", seen, want)
		}
	}
}
