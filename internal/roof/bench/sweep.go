package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/roof/app"
)

// sweepNothingDue indexes n open cases a month ahead and returns the
// median of five sweeps that find nothing due.
func sweepNothingDue(ctx context.Context, dir string, n int) (time.Duration, error) {
	cfg := benchConfig(dir)
	cfg.NATS.Embedded.Listen = "" // nothing observes this run
	a, err := app.New(ctx, cfg, app.Options{Log: quietLogger(), NoScheduler: true, NoHTTP: true, Instance: "bench-sweep"})
	if err != nil {
		return 0, err
	}
	defer func() { _ = a.Stop(context.Background()) }()
	future := time.Now().Add(30 * 24 * time.Hour)
	if err := loadCases(ctx, a.JetStream(), n, "F", future.Format(time.DateOnly), future); err != nil {
		return 0, err
	}
	if _, err := a.Scheduler().Sweep(ctx); err != nil { // sets the cursor
		return 0, err
	}
	var runs []time.Duration
	for range 5 {
		st, err := a.Scheduler().Sweep(ctx)
		if err != nil {
			return 0, err
		}
		if st.Published != 0 || st.Due != 0 {
			return 0, fmt.Errorf("a sweep with nothing due did work: %+v", st)
		}
		runs = append(runs, st.Duration)
	}
	return percentile(runs, 0.5), nil
}

// percentile is the p-quantile of ds (nearest rank, rounding down); p 1
// is the largest.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}
