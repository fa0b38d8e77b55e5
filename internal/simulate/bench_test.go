package simulate

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkYear is the dry run's speed target: one year (365 days) of the
// default configuration (the bundled policies and templates, contact
// rules and send window) for 100,000 generated borrowers, under a minute
// on two cores. It reports the reminders sent, the machine's cores and the
// run's peak live heap, measured every 5,000 borrowers after a full
// collection: a few megabytes, whatever the days (see
// TestMemoryBoundedByPopulationNotDays). It also reports the CPU time the
// run took (cpu-s): on a machine other work keeps busy, the wall time
// (ns/op) is longer than cpu-s divided by the cores, which is what the run
// takes when it has them. With -short it runs 2,000 borrowers.
//
//	go test -run '^$' -bench . -benchtime 1x -benchmem ./internal/simulate/
func BenchmarkYear(b *testing.B) {
	s, _ := bundledSetup(b)
	start := date(b, "2026-12-01")
	n := 100_000
	if testing.Short() {
		n = 2_000
	}
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		probe := &heapProbe{Source: Generated{N: n, Seed: 1, Start: start}, every: n / 20}
		cpu := cpuTime()
		res, err := Run(context.Background(), s, probe, Options{Start: start, Days: 365})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s")
		b.ReportMetric(float64(res.Totals[StatusSent]), "sent")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
		b.ReportMetric(float64(probe.peak-min(probe.peak, before.HeapAlloc))/1e6, "peak-live-MB")
	}
}
