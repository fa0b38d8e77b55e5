package suppress_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/testkit"
)

// BenchmarkFenceCheck measures what a send waits for the fence when many
// workers ask at once (p50 and p99 per Check), on an idle server and on one
// kept busy by writers on another connection, as the workers' traffic
// would. Run it with -benchtime to taste, e.g.
//
//	go test -run '^$' -bench FenceCheck -benchtime 20000x ./dispatcher/suppress/
func BenchmarkFenceCheck(b *testing.B) {
	for _, busy := range []bool{false, true} {
		b.Run(fmt.Sprintf("busy=%v", busy), func(b *testing.B) {
			n := testkit.StartNATS(b)
			ctx := testkit.Context(b, 10*time.Minute)
			st, err := store.OpenState(ctx, n.JS)
			if err != nil {
				b.Fatal(err)
			}
			rounds := atomic.Int64{}
			var mu sync.Mutex
			var waits []time.Duration
			f := suppress.NewFence(st, suppress.FenceOptions{Instance: "bench", Log: logging.Discard(),
				Observe:      func(time.Duration) { rounds.Add(1) },
				ObserveCheck: func(d time.Duration) { mu.Lock(); waits = append(waits, d); mu.Unlock() }})
			if err := f.Start(ctx); err != nil {
				b.Fatal(err)
			}
			if busy {
				stop := keepBusy(b, n)
				defer stop()
			}
			b.SetParallelism(64) // goroutines per core, as a worker's concurrency
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := f.Check(ctx, "b1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(waits)
			if len(waits) == 0 {
				return
			}
			b.ReportMetric(float64(waits[len(waits)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(len(waits))/float64(rounds.Load()), "checks/round")
		})
	}
}

// keepBusy writes to a KV bucket from another connection until stopped,
// with a few writes in flight at a time.
func keepBusy(b *testing.B, n *testkit.NATS) (stop func()) {
	_, js := n.Connect(b)
	ctx, cancel := context.WithCancel(context.Background())
	kv, err := js.KeyValue(ctx, store.LedgerBucket)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, _ = kv.Put(ctx, fmt.Sprintf("busy%d_%d", w, i%1000), []byte(`{"n":1}`))
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}
