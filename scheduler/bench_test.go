package scheduler

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
)

// cpuTime is the CPU time the process (embedded server included) has
// used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
// that many reminders and queued records. Suppressions are read from the
// stream leader.
func BenchmarkSweepDue(b *testing.B) { benchSweepDue(b) }

// BenchmarkSweepDueCached is BenchmarkSweepDue with a cached suppressions
// view (Options.Suppressions) that knows every borrower, as the delivery
// fence's watcher does in a running instance.
func BenchmarkSweepDueCached(b *testing.B) {
	benchSweepDue(b, func(o *Options) {
		o.Suppressions = func(id string) (domain.Suppressions, bool) {
			return domain.Suppressions{BorrowerID: id}, true
		}
	})
}

func benchSweepDue(b *testing.B, mod ...func(*Options)) {
	n := benchSize(b, "FORBEAR_BENCH_DUE", 5000)
	sh := mustZone(b, "Asia/Shanghai")
	now := local(sh, 2025, 3, 10, 9, 0)
	// FORBEAR_BENCH_WORKERS and FORBEAR_BENCH_BATCH size the worker pool,
	// to compare settings on a given machine.
	mod = append(mod, func(o *Options) {
		o.Workers = benchSize(b, "FORBEAR_BENCH_WORKERS", o.Workers)
		o.Batch = benchSize(b, "FORBEAR_BENCH_BATCH", o.Batch)
	})
	bd := setup(b, now, mod...)
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
		cpu := cpuTime()
		b.StartTimer()
		st := bd.sweep(b)
		b.StopTimer()
		if st.Published != 2*n {
			b.Fatalf("published %d, want %d (%+v)", st.Published, 2*n, st)
		}
		b.ReportMetric(float64(st.Published)/st.Duration.Seconds(), "reminders/s")
		// CPU per reminder, server included: steadier than wall time on
		// a shared machine, and what bounds throughput on a busy one.
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(st.Published), "cpu-µs/reminder")
		b.StartTimer()
	}
}
