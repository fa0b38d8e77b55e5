package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/domain"
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
