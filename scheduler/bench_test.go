package scheduler

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/domain"
)

func benchSize(b *testing.B, env string, def int) int {
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", env, v)
		}
		return n
	}
	return def
}

// BenchmarkSweepNothingDue measures a sweep over an index holding
// FORBEAR_BENCH_CASES (default 10000) subjects due in the future: it must
// cost the same whatever that number is.
func BenchmarkSweepNothingDue(b *testing.B) {
	n := benchSize(b, "FORBEAR_BENCH_CASES", 10000)
	sh := mustZone(b, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	bd := setup(b, now)
	indexFuture(b, bd.ctx, bd.nats.JS, n, now.Add(30*24*time.Hour), "F")
	bd.sweep(b) // writes the first cursor
	b.ResetTimer()
	for b.Loop() {
		bd.clock.Advance(time.Minute)
		st := bd.sweep(b)
		if st.Listed != 0 || st.Published != 0 {
			b.Fatalf("sweep did work: %+v", st)
		}
	}
}

// BenchmarkSweepDue measures a sweep that publishes the pre-due reminders
// (sms and inapp) of FORBEAR_BENCH_DUE (default 5000) loans, i.e. twice
// that many reminders and queued records.
func BenchmarkSweepDue(b *testing.B) {
	n := benchSize(b, "FORBEAR_BENCH_DUE", 5000)
	sh := mustZone(b, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	bd := setup(b, now)
	round := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		round++
		prefix := fmt.Sprintf("R%d-", round)
		putCasesFast(b, bd.ctx, bd.nats.JS, n, func(i int) domain.Case {
			return domain.Case{LoanID: prefix + strconv.Itoa(i), BorrowerID: "B" + strconv.Itoa(i),
				DueDate: "2025-03-13", Status: domain.LoanCurrent}
		})
		b.StartTimer()
		st := bd.sweep(b)
		if st.Published != 2*n {
			b.Fatalf("published %d, want %d (%+v)", st.Published, 2*n, st)
		}
		b.ReportMetric(float64(st.Published)/st.Duration.Seconds(), "reminders/s")
	}
}
