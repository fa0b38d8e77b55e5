package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/forbear/forbear/channels/sandbox"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/scheduler"
)

// latencyPrefix names the borrowers and loans of the latency run.
const latencyPrefix = "L"

// eventLatency starts an idle instance with its sweep on schedule spec
// and HTTP listener, and sends n loan.updated events to POST /v1/events,
// one at a time, each making a loan overdue with its policy's first step
// due now. For each it measures from the start of the intake call to the
// moment the sandbox provider's Send began for that loan's reminder (the
// provider stamps each message with it).
//
// An event reindexes its loan in the due index's now lane and nudges the
// sweep's leader, which sweeps that lane at once: the figure is intake, one
// now-lane sweep and the worker, not the wait for the scheduled sweep. The
// events are spread evenly over two sweep periods so that they arrive at
// every moment of the period, scheduled sweeps included, as a backend's
// events do.
func eventLatency(ctx context.Context, dir string, n int, spec string) (Latency, error) {
	res := Latency{Events: n, Sweep: spec}
	period, err := sweepPeriod(spec)
	if err != nil {
		return res, err
	}
	res.Spread = 2 * period
	gap := res.Spread / time.Duration(n)

	cfg := benchConfig(dir)
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Scheduler.Sweep = spec
	a, err := app.New(ctx, cfg, app.Options{Log: quietLogger(), Instance: "bench-latency"})
	if err != nil {
		return res, err
	}
	defer func() { _ = a.Stop(context.Background()) }()
	if err := a.Start(ctx); err != nil {
		return res, err
	}
	// The borrowers exist beforehand; their loans come with the events.
	p := pipeline{js: a.JetStream()}
	for i := range n {
		if err := p.put(ctx, "$KV."+store.BorrowersBucket+".b"+latencyPrefix+strconv.Itoa(i), borrower(latencyPrefix, i)); err != nil {
			return res, err
		}
	}
	if err := p.flush(ctx); err != nil {
		return res, err
	}

	obs, err := connectObserver(a.NATSClientURL())
	if err != nil {
		return res, err
	}
	defer obs.Close()
	calls := newProviderCalls(n)
	sub, err := obs.Subscribe(store.OutboxPrefix+">", calls.observe)
	if err != nil {
		return res, err
	}
	defer sub.Unsubscribe()
	if err := obs.FlushTimeout(flushWait); err != nil {
		return res, err
	}

	client := &http.Client{Timeout: 30 * time.Second}
	url := "http://" + a.Addr() + "/v1/events"
	date := today(cfg)
	sent := make([]time.Time, n)
	intake := make([]time.Duration, n)
	begin := time.Now()
	for i := range n {
		// Pacing: the i-th event leaves at its slot of the spread.
		if err := waitUntil(ctx, begin.Add(time.Duration(i)*gap)); err != nil {
			return res, err
		}
		sent[i] = time.Now()
		if err := postLoanOverdue(ctx, client, url, i, date); err != nil {
			return res, fmt.Errorf("event %d: %w", i, err)
		}
		intake[i] = time.Since(sent[i])
	}
	entered, err := calls.wait(ctx, res.Spread+period+time.Minute)
	if err != nil {
		return res, errors.Join(err, obs.lost())
	}
	lat := make([]time.Duration, n)
	for i := range n {
		lat[i] = entered[i].Sub(sent[i])
	}
	res.P50, res.P99, res.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	res.IntakeP50, res.IntakeP99 = percentile(intake, 0.50), percentile(intake, 0.99)
	return res, nil
}

// sweepPeriod is the time between the next two sweeps of a schedule.
func sweepPeriod(spec string) (time.Duration, error) {
	sched, err := scheduler.ParseSpec(spec)
	if err != nil {
		return 0, err
	}
	first := sched.Next(time.Now())
	return sched.Next(first).Sub(first), nil
}

// postLoanOverdue sends loan.updated for the i-th loan, overdue since
// date, as a platform backend does.
func postLoanOverdue(ctx context.Context, client *http.Client, url string, i int, date string) error {
	id := latencyPrefix + strconv.Itoa(i)
	body := fmt.Sprintf(`{"specversion":"1.0","id":"bench-%s","source":"forbear-bench","type":"loan.updated",`+
		`"data":{"borrower_id":"b%s","loan_id":"%s","due_date":"%s","amount_due":"120.00","currency":"USD","status":"overdue","policy":"bench"}}`,
		id, id, id, date)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("intake answered %s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// providerCalls collects, from the sandbox outbox, when the provider's
// Send began for each loan of the latency run (the first call, should a
// reminder be sent again).
type providerCalls struct {
	mu      sync.Mutex
	entered []time.Time
	missing int
	done    chan struct{}
}

func newProviderCalls(n int) *providerCalls {
	return &providerCalls{entered: make([]time.Time, n), missing: n, done: make(chan struct{})}
}

func (c *providerCalls) observe(m *nats.Msg) {
	var e sandbox.Entry
	if json.Unmarshal(m.Data, &e) != nil {
		return
	}
	i, err := strconv.Atoi(strings.TrimPrefix(e.LoanID, latencyPrefix))
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || i < 0 || i >= len(c.entered) || !c.entered[i].IsZero() {
		return
	}
	c.entered[i] = e.At
	if c.missing--; c.missing == 0 {
		close(c.done)
	}
}

// wait returns the times once every loan's reminder reached the provider,
// or fails after limit.
func (c *providerCalls) wait(ctx context.Context, limit time.Duration) ([]time.Time, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, fmt.Errorf("%d of %d reminders did not reach the provider within %s", c.missing, len(c.entered), limit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entered, nil
}
