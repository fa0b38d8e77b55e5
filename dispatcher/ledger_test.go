package dispatcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

func ledgerSetup(t testing.TB, caps map[string]config.Cap) (*dispatcher.Ledger, *clock.Fake, *testkit.NATS) {
	t.Helper()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	rules, err := compliance.Compile(config.Compliance{SendWindow: config.Window{Start: "00:00", End: "24:00"}, Caps: caps}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	l, err := dispatcher.NewLedger(ctx, n.JS, rules, clk)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk, n
}

func sms(id, borrower string) domain.Reminder {
	return domain.Reminder{ID: id, BorrowerID: borrower, LoanID: "l1", Channel: domain.SMS, Category: domain.Collection}
}

// TestLedgerCapHoldsAcrossInstances: two ledgers (two instances) race for
// the places under a cap of 3: exactly 3 reservations win.
func TestLedgerCapHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	caps := map[string]config.Cap{"sms": {Max: 3, Per: config.Duration(24 * time.Hour)}}
	l1, clk, n := ledgerSetup(t, caps)
	ctx := testkit.Context(t, time.Minute)
	_, js2 := n.Connect(t)
	l2, err := dispatcher.NewLedger(ctx, js2, l1.Rules(), clk)
	if err != nil {
		t.Fatal(err)
	}
	b := domain.Borrower{ID: "b1", Timezone: "UTC", Phone: "+15550000001"}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := l1
			if i%2 == 1 {
				l = l2
			}
			d, err := l.Reserve(ctx, sms(fmt.Sprintf("r%d", i), "b1"), b)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			} else if d.Status != domain.Capped {
				t.Errorf("refused with status %q, want capped", d.Status)
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != 3 {
		t.Fatalf("%d reservations allowed under a cap of 3", got)
	}
}

func TestLedgerFailedAttemptsDoNotCount(t *testing.T) {
	t.Parallel()
	caps := map[string]config.Cap{"sms": {Max: 1, Per: config.Duration(24 * time.Hour)}}
	l, clk, _ := ledgerSetup(t, caps)
	ctx := testkit.Context(t, time.Minute)
	b := domain.Borrower{ID: "b1", Timezone: "UTC"}
	if d, _ := l.Reserve(ctx, sms("r1", "b1"), b); !d.Allowed {
		t.Fatalf("first reservation refused: %+v", d)
	}
	if d, _ := l.Reserve(ctx, sms("r2", "b1"), b); d.Allowed {
		t.Fatalf("second reservation allowed under a cap of 1")
	}
	if err := l.Outcome(ctx, "b1", "r1", dispatcher.OutcomeFailed); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Reserve(ctx, sms("r2", "b1"), b); !d.Allowed {
		t.Fatalf("a failed attempt still counts: %+v", d)
	}
	// The same reminder reserved again replaces its attempt.
	if d, _ := l.Reserve(ctx, sms("r2", "b1"), b); !d.Allowed {
		t.Fatalf("re-reserving the same reminder counted it twice: %+v", d)
	}
	clk.Advance(25 * time.Hour)
	if d, _ := l.Reserve(ctx, sms("r3", "b1"), b); !d.Allowed {
		t.Fatalf("cap still closed after its window: %+v", d)
	}
	a, found, err := l.Attempt(ctx, "b1", "r3")
	if err != nil || !found || a.Outcome != dispatcher.OutcomePending {
		t.Fatalf("attempt r3 = %+v found=%v err=%v, want pending", a, found, err)
	}
}

// TestLedgerKeepsAttemptsWithoutRules: with no cap and no conversation
// rule the rules need no history, but an attempt is also the record a
// redelivered reminder looks at before resending: another reminder's
// reservation a minute later must not prune it.
func TestLedgerKeepsAttemptsWithoutRules(t *testing.T) {
	t.Parallel()
	n := testkit.StartNATS(t)
	ctx := testkit.Context(t, time.Minute)
	none := config.Duration(0)
	rules, err := compliance.Compile(config.Compliance{SendWindow: config.Window{Start: "00:00", End: "24:00"},
		Caps: map[string]config.Cap{}, AfterConversation: &none}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if keep := rules.Keep(); keep != 0 {
		t.Fatalf("rules keep %v of history, want none for this test", keep)
	}
	clk := clock.NewFake(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	l, err := dispatcher.NewLedger(ctx, n.JS, rules, clk)
	if err != nil {
		t.Fatal(err)
	}
	b := domain.Borrower{ID: "b1", Timezone: "UTC"}
	call := domain.Reminder{ID: "call-1", BorrowerID: "b1", LoanID: "l1", Channel: domain.Voice, Category: domain.Collection}
	if d, err := l.Reserve(ctx, call, b); err != nil || !d.Allowed {
		t.Fatalf("reserve call-1: %+v %v", d, err)
	}
	at := clk.Now()
	clk.Advance(time.Minute)
	if d, err := l.Reserve(ctx, sms("sms-1", "b1"), b); err != nil || !d.Allowed {
		t.Fatalf("reserve sms-1: %+v %v", d, err)
	}
	a, found, err := l.Attempt(ctx, "b1", "call-1")
	if err != nil || !found || a.Outcome != dispatcher.OutcomePending || !a.At.Equal(at) {
		t.Fatalf("attempt call-1 = %+v found=%v err=%v, want the pending attempt of %v", a, found, err, at)
	}
}

// BenchmarkLedgerReserve is the rule check on the send path: read the
// borrower's ledger from a bucket of FORBEAR_BENCH_LEDGER borrowers
// (default 10000; the closing note uses 1000000), decide, and write the
// reservation.
func BenchmarkLedgerReserve(b *testing.B) {
	n := 10000
	if v := os.Getenv("FORBEAR_BENCH_LEDGER"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	caps := map[string]config.Cap{"sms": {Max: 1 << 30, Per: config.Duration(24 * time.Hour)}}
	l, _, nats := ledgerSetup(b, caps)
	ctx := context.Background()
	fillLedger(b, nats.JS, n)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := strconv.Itoa(i % n)
		i++
		d, err := l.Reserve(ctx, sms("bench-"+strconv.Itoa(i), "b"+id), domain.Borrower{ID: "b" + id, Timezone: "UTC"})
		if err != nil || !d.Allowed {
			b.Fatalf("reserve: %+v %v", d, err)
		}
	}
}

// fillLedger writes n borrowers' ledgers (five attempts each) with
// pipelined publishes.
func fillLedger(b testing.TB, js jetstream.JetStream, n int) {
	now := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	var led compliance.Ledger
	for k := range 5 {
		led.Attempts = append(led.Attempts, compliance.Attempt{ID: fmt.Sprintf("old-%d", k), Channel: domain.SMS, LoanID: "l1", At: now, Outcome: "sent"})
	}
	data, _ := json.Marshal(led)
	for i := 0; i < n; i++ {
		if _, err := js.PublishAsync("$KV."+store.LedgerBucket+".b"+strconv.Itoa(i), data); err != nil {
			b.Fatal(err)
		}
		if i%4000 == 3999 {
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()
}
