package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/app"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/natsrv"
	"github.com/forbear/forbear/internal/store"
	"github.com/forbear/forbear/scheduler"
)

// Options size the run.
type Options struct {
	// Reminders for the raw ceiling and the end-to-end run.
	Reminders int
	// Cases indexed in the future for the nothing-due sweep (0 skips it).
	Cases int
	// Dir is the scratch directory; default a temporary one, removed after.
	Dir string
	// Profile, if set, receives a CPU profile of the end-to-end run.
	Profile io.Writer
}

// Result holds the figures of one run.
type Result struct {
	Cores           int
	Reminders       int
	RawPerSec       float64
	RawElapsed      time.Duration
	E2EPerSec       float64
	E2EElapsed      time.Duration
	SweepElapsed    time.Duration
	Ratio           float64
	FenceP50        time.Duration
	FenceP99        time.Duration
	FenceChecks     int
	PeakRSSMiB      float64
	Cases           int
	SweepNothingDue time.Duration
}

// Run runs the benchmark and prints its figures to w.
func Run(ctx context.Context, o Options, w io.Writer) error {
	if o.Reminders <= 0 {
		o.Reminders = 100_000
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "forbear-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	res := Result{Cores: runtime.NumCPU(), Reminders: o.Reminders, Cases: o.Cases}
	fmt.Fprintf(w, "forbear bench: %d reminders, %d cores (GOMAXPROCS %d), %s/%s\n",
		o.Reminders, res.Cores, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)

	var err error
	if res.RawElapsed, err = raw(ctx, filepath.Join(dir, "raw"), o.Reminders); err != nil {
		return fmt.Errorf("raw ceiling: %w", err)
	}
	res.RawPerSec = float64(o.Reminders) / res.RawElapsed.Seconds()
	fmt.Fprintf(w, "raw JetStream (publish + consume with ack): %8.0f msg/s  (%v)\n", res.RawPerSec, res.RawElapsed.Round(time.Millisecond))

	if err := endToEnd(ctx, filepath.Join(dir, "e2e"), o.Reminders, o.Profile, &res); err != nil {
		return fmt.Errorf("end to end: %w", err)
	}
	res.E2EPerSec = float64(o.Reminders) / res.E2EElapsed.Seconds()
	res.Ratio = res.E2EPerSec / res.RawPerSec
	fmt.Fprintf(w, "forbear end to end (sweep -> worker -> fence -> sandbox -> audit): %8.0f reminders/s  (%v; sweep publish %v)\n",
		res.E2EPerSec, res.E2EElapsed.Round(time.Millisecond), res.SweepElapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "ratio forbear/raw: %.2fx\n", res.Ratio)
	fmt.Fprintf(w, "fence wait per send: p50 %v  p99 %v  (%d checks)\n", res.FenceP50, res.FenceP99, res.FenceChecks)

	if o.Cases > 0 {
		if err := sweepNothingDue(ctx, filepath.Join(dir, "sweep"), o.Cases, &res); err != nil {
			return fmt.Errorf("sweep with nothing due: %w", err)
		}
		fmt.Fprintf(w, "sweep with %d open cases and nothing due: %v\n", o.Cases, res.SweepNothingDue)
	}
	res.PeakRSSMiB = peakRSS()
	fmt.Fprintf(w, "peak RSS (process, embedded server included): %.0f MiB\n", res.PeakRSSMiB)
	return nil
}

// payload is about the size of a reminder message.
var payload = bytes.Repeat([]byte("x"), 420)

// raw measures N messages published asynchronously to a file-store stream
// and consumed concurrently by a pull consumer with explicit acks: the
// time from the first publish to the last ack.
func raw(ctx context.Context, dir string, n int) (time.Duration, error) {
	srv, err := natsrv.Start(natsrv.Options{StoreDir: dir})
	if err != nil {
		return 0, err
	}
	defer srv.Shutdown()
	pubConn, err := srv.Connect("bench-pub")
	if err != nil {
		return 0, err
	}
	defer pubConn.Close()
	subConn, err := srv.Connect("bench-sub")
	if err != nil {
		return 0, err
	}
	defer subConn.Close()
	pjs, _ := jetstream.New(pubConn)
	sjs, _ := jetstream.New(subConn)
	if _, err := pjs.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy}); err != nil {
		return 0, err
	}
	cons, err := sjs.CreateOrUpdateConsumer(ctx, "RAW", jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		return 0, err
	}
	var acked atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if acked.Add(1) == int64(n) {
			close(done)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	for i := range n {
		if _, err := pjs.PublishAsync("raw."+strconv.Itoa(i%64), payload); err != nil {
			return 0, err
		}
	}
	select {
	case <-pjs.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("only %d of %d acked", acked.Load(), n)
	}
	// Acks are asynchronous: flush so the last ones are on the server.
	_ = subConn.Flush()
	return time.Since(start), nil
}

func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func benchConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.NATS.Embedded.Listen = ""
	cfg.TemplatesDir = filepath.Join(dir, "no-templates") // bundled templates
	cfg.Providers.SMS = config.Provider{Kind: "sandbox", Concurrency: 512}
	cfg.Agreements.Policy = ""
	// The contact rules stay on (the ledger is part of the send path), with
	// the window open so the run does not depend on the hour.
	cfg.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"}
	cfg.Policies = []config.Policy{{ID: "bench", Category: "collection", Steps: []config.Step{
		{ID: "due", At: 0, Channels: []string{"sms"}, Template: "overdue"},
	}}}
	return cfg
}

// endToEnd makes n loans due now, runs one sweep and waits until every
// reminder has a delivered record from the sandbox SMS provider.
func endToEnd(ctx context.Context, dir string, n int, profile io.Writer, res *Result) error {
	cfg := benchConfig(dir)
	var mu sync.Mutex
	var checks []time.Duration
	a, err := app.New(ctx, cfg, app.Options{Log: quietLogger(), NoScheduler: true, NoHTTP: true, Instance: "bench",
		FenceCheck: func(d time.Duration) { mu.Lock(); checks = append(checks, d); mu.Unlock() }})
	if err != nil {
		return err
	}
	defer func() { _ = a.Stop(context.Background()) }()
	if err := a.Start(ctx); err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cfg.Scheduler.Timezone)
	today := time.Now().In(loc).Format(time.DateOnly)
	if err := loadCases(ctx, a.JetStream(), n, "E", today, time.Time{}); err != nil {
		return err
	}
	// Count delivered records on a plain subscription.
	nc := natsConn(a)
	var delivered atomic.Int64
	done := make(chan struct{})
	sub, err := nc.Subscribe(store.DeliveriesPrefix+">", func(m *nats.Msg) {
		if bytes.Contains(m.Data, []byte(`"status":"delivered"`)) && delivered.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		return err
	}
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	st, err := a.Scheduler().Sweep(ctx)
	if err != nil {
		return err
	}
	res.SweepElapsed = time.Since(start)
	if st.Published != n {
		return fmt.Errorf("sweep published %d reminders, want %d (%+v)", st.Published, n, st)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("only %d of %d reminders delivered", delivered.Load(), n)
	}
	res.E2EElapsed = time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	res.FenceChecks = len(checks)
	res.FenceP50, res.FenceP99 = percentile(checks, 0.50), percentile(checks, 0.99)
	return nil
}

// natsConn opens a plain connection to the app's embedded server.
func natsConn(a *app.App) *nats.Conn {
	return a.NATSConn()
}

// loadCases writes n borrowers and open cases with pipelined KV publishes
// and indexes them (due now when at is zero).
func loadCases(ctx context.Context, js jetstream.JetStream, n int, prefix, dueDate string, at time.Time) error {
	loader := scheduler.NewLoader(js)
	var futures []jetstream.PubAckFuture
	flush := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return loader.Flush(ctx)
	}
	for i := range n {
		id := prefix + strconv.Itoa(i)
		b, _ := json.Marshal(domain.Borrower{ID: "b" + id, Name: "Borrower " + id, Locale: "en-US",
			Phone: fmt.Sprintf("+1555%07d", i%10_000_000), LoanIDs: []string{id}})
		c, _ := json.Marshal(domain.Case{LoanID: id, BorrowerID: "b" + id, DueDate: dueDate, AmountDue: "120.00",
			Currency: "USD", Status: domain.LoanOverdue, Policy: "bench"})
		for _, m := range []struct {
			subj string
			data []byte
		}{{"$KV." + store.BorrowersBucket + ".b" + id, b}, {"$KV." + store.CasesBucket + "." + id, c}} {
			f, err := js.PublishAsync(m.subj, m.data, jetstream.WithStallWait(time.Minute))
			if err != nil {
				return err
			}
			futures = append(futures, f)
		}
		if err := loader.Add(ctx, scheduler.KindLoan, id, at); err != nil {
			return err
		}
		if len(futures) >= 4000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// sweepNothingDue indexes n open cases a month ahead and times sweeps that
// find nothing due.
func sweepNothingDue(ctx context.Context, dir string, n int, res *Result) error {
	cfg := benchConfig(dir)
	a, err := app.New(ctx, cfg, app.Options{Log: quietLogger(), NoScheduler: true, NoHTTP: true, Instance: "bench-sweep"})
	if err != nil {
		return err
	}
	defer func() { _ = a.Stop(context.Background()) }()
	future := time.Now().Add(30 * 24 * time.Hour)
	if err := loadCases(ctx, a.JetStream(), n, "F", future.Format(time.DateOnly), future); err != nil {
		return err
	}
	if _, err := a.Scheduler().Sweep(ctx); err != nil { // sets the cursor
		return err
	}
	var runs []time.Duration
	for range 5 {
		st, err := a.Scheduler().Sweep(ctx)
		if err != nil {
			return err
		}
		if st.Published != 0 || st.Due != 0 {
			return fmt.Errorf("a sweep with nothing due did work: %+v", st)
		}
		runs = append(runs, st.Duration)
	}
	res.SweepNothingDue = percentile(runs, 0.5)
	return nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// peakRSS reads the process's high-water resident set (Linux).
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
