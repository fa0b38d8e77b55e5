package simulate

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkYear is the dry run's speed target: one year of the default
// configuration for 100,000 generated borrowers (FORBEAR_SIM_BORROWERS
// aside), reported with the machine's core count.
func BenchmarkYear(b *testing.B) {
	s, _ := bundledSetup(b)
	start := date(b, "2026-12-01")
	n := 100_000
	if testing.Short() {
		n = 2_000
	}
	src := Generated{N: n, Seed: 1, Start: start}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(context.Background(), s, src, Options{Start: start, Days: 365})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Totals[StatusSent]), "sent")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
	}
}
