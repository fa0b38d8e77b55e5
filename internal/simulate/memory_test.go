package simulate

import (
	"context"
	"runtime"
	"sync"
	"testing"
)

// heapProbe is a Source that measures the live heap (after a full
// collection) every so many borrowers, while the run's workers are busy:
// the largest is the run's peak live heap, give or take one borrower.
type heapProbe struct {
	Source
	every int

	mu   sync.Mutex
	peak uint64
}

func (h *heapProbe) Borrower(i int) Borrower {
	if i%h.every == 0 {
		h.measure()
	}
	return h.Source.Borrower(i)
}

func (h *heapProbe) measure() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.mu.Lock()
	h.peak = max(h.peak, ms.HeapAlloc)
	h.mu.Unlock()
}

// peakHeap is the peak live heap of a run of n generated borrowers over
// days, above the live heap before it.
func peakHeap(t *testing.T, s Setup, n, days int) uint64 {
	t.Helper()
	start := date(t, "2026-12-01")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	probe := &heapProbe{Source: Generated{N: n, Seed: 1, Start: start}, every: n / 20}
	res, err := Run(context.Background(), s, probe, Options{Start: start, Days: days, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	probe.measure()
	runtime.KeepAlive(res)
	return probe.peak - min(probe.peak, before.HeapAlloc)
}

// TestMemoryBoundedByPopulationNotDays: a run keeps no state per borrower
// per day. Each worker holds one borrower at a time (its event queue,
// ledger and occurrence markers, dropped when it moves on) and folds every
// decision into per-day counts at once; a generated population is made
// borrower by borrower and never held whole. So the live heap grows with
// the days only by the per-day counts (the same whatever the population),
// and not at all with a generated population's size. A run that kept
// anything per borrower per day (a schedule for everyone, a day-by-day
// state per borrower) would grow by days × borrowers: at least 8 bytes a
// day for each of 3,000 more borrowers over 335 more days is 8 MB, four
// times the slack allowed.
func TestMemoryBoundedByPopulationNotDays(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 5,000 borrower-years")
	}
	s, _ := bundledSetup(t)
	type size struct{ n, days int }
	sizes := []size{{1000, 30}, {1000, 365}, {4000, 30}, {4000, 365}}
	peak := map[size]uint64{}
	for _, sz := range sizes {
		peak[sz] = peakHeap(t, s, sz.n, sz.days)
		t.Logf("%5d borrowers × %3d days: peak live heap %6.2f MB", sz.n, sz.days, float64(peak[sz])/1e6)
	}
	const slack = 2 << 20 // GC and scheduling noise: which borrowers are in flight when measured
	small := int64(peak[size{1000, 365}]) - int64(peak[size{1000, 30}])
	large := int64(peak[size{4000, 365}]) - int64(peak[size{4000, 30}])
	if large > small+slack {
		t.Errorf("335 more days cost %d bytes with 4,000 borrowers but %d with 1,000: memory grows with days × borrowers", large, small)
	}
	if grown := int64(peak[size{4000, 365}]) - int64(peak[size{1000, 365}]); grown > slack {
		t.Errorf("3,000 more generated borrowers cost %d bytes over a year: the run holds something per borrower", grown)
	}
}
