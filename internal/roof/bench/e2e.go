package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/scheduler"
)

func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// benchConfig is an instance with a sandbox SMS provider and one policy
// whose only step sends an SMS on the due date. The embedded server
// listens on a loopback port of its own choosing for the bench's observer
// connection; the instance itself still talks to it in process.
func benchConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.TemplatesDir = filepath.Join(dir, "no-templates") // bundled templates
	cfg.Providers.SMS = config.Provider{Kind: "sandbox", Concurrency: DefaultConcurrency}
	cfg.Agreements.Policy = ""
	// The contact rules stay on (the ledger is part of the send path), with
	// the window open so the run does not depend on the hour.
	cfg.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"}
	cfg.Policies = []config.Policy{{ID: "bench", Category: "collection", Steps: []config.Step{
		{ID: "due", At: 0, Channels: []string{"sms"}, Template: "overdue"},
	}}}
	return cfg
}

// today is the date of now in the instance's scheduling zone: a case due
// today has the bench policy's step due now.
func today(cfg config.Config) string {
	loc, err := time.LoadLocation(cfg.Scheduler.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return time.Now().In(loc).Format(time.DateOnly)
}

// instance is the end-to-end part's forbear instance: its scheduler runs
// only when the bench sweeps, and the bench's observer connection reaches
// its embedded server. It records every fence check and round.
type instance struct {
	a   *app.App
	cfg config.Config

	mu             sync.Mutex
	checks, rounds []time.Duration
}

// startInstance starts the end-to-end instance in dir, its SMS worker with
// concurrency sends in flight.
func startInstance(ctx context.Context, dir string, concurrency int) (*instance, error) {
	in := &instance{cfg: benchConfig(dir)}
	in.cfg.Providers.SMS.Concurrency = concurrency
	a, err := app.New(ctx, in.cfg, app.Options{Log: quietLogger(), NoScheduler: true, NoHTTP: true, Instance: "bench",
		FenceCheck: func(d time.Duration) { in.mu.Lock(); in.checks = append(in.checks, d); in.mu.Unlock() },
		FenceRound: func(d time.Duration) { in.mu.Lock(); in.rounds = append(in.rounds, d); in.mu.Unlock() }})
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		return nil, err
	}
	in.a = a
	return in, nil
}

func (in *instance) stop() { _ = in.a.Stop(context.Background()) }

// book indexes n open cases a month ahead, the book the end-to-end run
// carries, and returns the median of five sweeps that find nothing due.
func (in *instance) book(ctx context.Context, n int) (time.Duration, error) {
	future := time.Now().Add(30 * 24 * time.Hour)
	if err := loadCases(ctx, in.a.JetStream(), n, "F", future.Format(time.DateOnly), future); err != nil {
		return 0, err
	}
	if _, err := in.a.Scheduler().Sweep(ctx); err != nil { // sets the cursor
		return 0, err
	}
	var runs []time.Duration
	for range 5 {
		st, err := in.a.Scheduler().Sweep(ctx)
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

// liveHeapMiB collects and returns what is live on the heap, in MiB: the
// whole process's, the embedded server's subject state included.
func liveHeapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// run makes n loans due now, runs one sweep and waits until every reminder
// has a delivered record from the sandbox SMS provider. It counts what the
// server stores and reads from the sweep's start until every reminder is
// acknowledged.
func (in *instance) run(ctx context.Context, n int, profile io.Writer) (E2E, error) {
	res := E2E{Concurrency: in.cfg.Providers.SMS.Concurrency}
	a := in.a
	if err := loadCases(ctx, a.JetStream(), n, "E", today(in.cfg), time.Time{}); err != nil {
		return res, err
	}
	obs, err := connectObserver(a.NATSClientURL())
	if err != nil {
		return res, err
	}
	defer obs.Close()
	// Count delivered records on a plain subscription.
	var delivered atomic.Int64
	done := make(chan struct{})
	sub, err := obs.Subscribe(store.DeliveriesPrefix+">", func(m *nats.Msg) {
		if bytes.Contains(m.Data, []byte(`"status":"delivered"`)) && delivered.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return res, err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	tally, err := startTally(ctx, obs)
	if err != nil {
		return res, err
	}
	in.mu.Lock()
	in.checks, in.rounds = nil, nil // this run's only
	in.mu.Unlock()
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	st, err := a.Scheduler().Sweep(ctx)
	if err != nil {
		return res, err
	}
	res.SweepPublish = time.Since(start)
	if st.Published != n {
		return res, fmt.Errorf("sweep published %d reminders, want %d (%+v)", st.Published, n, st)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(10 * time.Minute):
		return res, errors.Join(fmt.Errorf("only %d of %d reminders delivered after 10 minutes (%s)",
			delivered.Load(), n, consumerState(ctx, a.JetStream())), obs.lost())
	}
	res.Elapsed = time.Since(start)
	res.PerSec = float64(n) / res.Elapsed.Seconds()
	if profile != nil {
		pprof.StopCPUProfile()
	}
	// The delivered record comes before the ack: the count ends once
	// every reminder is acknowledged.
	js, err := jetstream.New(obs.Conn)
	if err != nil {
		return res, err
	}
	if err := settled(ctx, js, store.RemindersStream); err != nil {
		return res, err
	}
	if res.Storage, err = tally.finish(ctx, n); err != nil {
		return res, fmt.Errorf("counting writes and reads: %w", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	res.FenceChecks, res.FenceRounds = len(in.checks), len(in.rounds)
	res.FenceP50, res.FenceP99 = percentile(in.checks, 0.50), percentile(in.checks, 0.99)
	res.FenceRoundP50, res.FenceRoundP99 = percentile(in.rounds, 0.50), percentile(in.rounds, 0.99)
	return res, nil
}

// loadCases writes n borrowers and open cases with pipelined KV publishes
// and indexes them (due now when at is zero).
func loadCases(ctx context.Context, js jetstream.JetStream, n int, prefix, dueDate string, at time.Time) error {
	loader := scheduler.NewLoader(js)
	p := pipeline{js: js}
	for i := range n {
		id := prefix + strconv.Itoa(i)
		c, _ := json.Marshal(domain.Case{LoanID: id, BorrowerID: "b" + id, DueDate: dueDate, AmountDue: "120.00",
			Currency: "USD", Status: domain.LoanOverdue, Policy: "bench"})
		if err := p.put(ctx, "$KV."+store.BorrowersBucket+".b"+id, borrower(prefix, i)); err != nil {
			return err
		}
		if err := p.put(ctx, "$KV."+store.CasesBucket+"."+id, c); err != nil {
			return err
		}
		if err := loader.Add(ctx, scheduler.KindLoan, id, at); err != nil {
			return err
		}
		if p.full() {
			if err := p.flush(ctx); err != nil {
				return err
			}
			if err := loader.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	return loader.Flush(ctx)
}

// borrower is the i-th borrower of a run, "b<prefix><i>", with one loan
// "<prefix><i>" and a phone number.
func borrower(prefix string, i int) []byte {
	id := prefix + strconv.Itoa(i)
	b, _ := json.Marshal(domain.Borrower{ID: "b" + id, Name: "Borrower " + id, Locale: "en-US",
		Phone: fmt.Sprintf("+1555%07d", i%10_000_000), LoanIDs: []string{id}})
	return b
}

// pipeline publishes to streams without waiting for each acknowledgement.
type pipeline struct {
	js      jetstream.JetStream
	futures []jetstream.PubAckFuture
}

func (p *pipeline) put(ctx context.Context, subject string, data []byte) error {
	f, err := p.js.PublishAsync(subject, data, jetstream.WithStallWait(time.Minute))
	if err != nil {
		return err
	}
	p.futures = append(p.futures, f)
	return nil
}

func (p *pipeline) full() bool { return len(p.futures) >= 4000 }

// flush waits for every publish's acknowledgement.
func (p *pipeline) flush(ctx context.Context) error {
	for _, f := range p.futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.futures = p.futures[:0]
	return nil
}

// consumerState says where the reminders' consumers are, for an error.
func consumerState(ctx context.Context, js jetstream.JetStream) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, store.RemindersStream)
	if err != nil {
		return err.Error()
	}
	var parts []string
	consumers := s.ListConsumers(ctx)
	for ci := range consumers.Info() {
		parts = append(parts, fmt.Sprintf("consumer %s: delivered %d, acked to %d, %d pending, %d unacknowledged, %d redelivered",
			ci.Name, ci.Delivered.Consumer, ci.AckFloor.Consumer, ci.NumPending, ci.NumAckPending, ci.NumRedelivered))
	}
	if err := consumers.Err(); err != nil {
		parts = append(parts, err.Error())
	}
	return strings.Join(parts, "; ")
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
