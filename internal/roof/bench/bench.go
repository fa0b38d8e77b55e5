package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
)

// Options size the run.
type Options struct {
	// Reminders for the raw ceiling and the end-to-end run; default
	// 100,000.
	Reminders int
	// Concurrency is how many sends the end-to-end run's SMS worker has in
	// flight; default DefaultConcurrency.
	Concurrency int
	// Cases open cases, indexed a month ahead, are loaded into the
	// end-to-end run's instance before its reminders: the book it carries,
	// and the sweep with nothing due is measured on them (0: an empty
	// instance, no sweep measurement).
	Cases int
	// Settle is how long that instance idles between loading the cases
	// and the end-to-end run (0: not at all; the command's default is
	// DefaultSettle).
	Settle time.Duration
	// Events for the event-to-provider latency, sent one at a time to an
	// idle instance (0 skips it).
	Events int
	// Sweep is the cron schedule of the sweep while the latency is
	// measured; default the one forbear serve runs with.
	Sweep string
	// Dir is the scratch directory; default a temporary one, removed after.
	Dir string
	// Profile, if set, receives a CPU profile of the end-to-end run.
	Profile io.Writer
	// JSON prints the figures as one JSON document at the end instead of
	// lines of text as each measurement ends.
	JSON bool
}

// Result holds the figures of one run. Durations are in nanoseconds in
// JSON.
type Result struct {
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Platform   string `json:"platform"`
	Reminders  int    `json:"reminders"`
	Raw        Raw    `json:"raw"`
	EndToEnd   E2E    `json:"end_to_end"`
	// Ratio is forbear's end-to-end rate over the raw ceiling.
	Ratio   float64  `json:"ratio"`
	Latency *Latency `json:"event_to_provider,omitempty"`
	Sweep   *Sweep   `json:"sweep_nothing_due,omitempty"`
	// PeakRSSMiB is the highest resident set of the whole run.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Errors are the parts that failed; their figures are zero or absent.
	Errors []string `json:"errors,omitempty"`
	// RSSPerPhase says whether each phase's peak is its own (the
	// high-water mark was reset before it) or the run's so far.
	RSSPerPhase bool `json:"rss_per_phase"`
}

// Raw is the JetStream ceiling: publish plus consume with ack.
type Raw struct {
	PerSec     float64       `json:"per_sec"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PeakRSSMiB float64       `json:"peak_rss_mib"`
}

// E2E is forbear end to end: one sweep of every reminder due, the SMS
// worker, the fence, the sandbox provider and the audit records.
type E2E struct {
	PerSec       float64       `json:"per_sec"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	SweepPublish time.Duration `json:"sweep_publish_ns"`
	// Concurrency is how many sends the SMS worker had in flight.
	Concurrency int `json:"concurrency"`
	// OpenCases were loaded (a month ahead) before the run, Settle after
	// them.
	OpenCases   int           `json:"open_cases"`
	Settle      time.Duration `json:"settle_ns"`
	FenceP50    time.Duration `json:"fence_p50_ns"`
	FenceP99    time.Duration `json:"fence_p99_ns"`
	FenceChecks int           `json:"fence_checks"`
	// The rounds behind the checks: one question to the suppression
	// stream's leader each, answering every check that joined it.
	FenceRoundP50 time.Duration `json:"fence_round_p50_ns"`
	FenceRoundP99 time.Duration `json:"fence_round_p99_ns"`
	FenceRounds   int           `json:"fence_rounds"`
	Storage       Storage       `json:"storage"`
	PeakRSSMiB    float64       `json:"peak_rss_mib"`
}

// Latency is event in to first provider call, on an idle instance.
type Latency struct {
	Events int `json:"events"`
	// Sweep is the sweep's schedule, Spread how long the events were
	// spread over (two sweep periods, so that they meet every moment of
	// the period).
	Sweep  string        `json:"sweep"`
	Spread time.Duration `json:"spread_ns"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
	// IntakeP50 and IntakeP99 are how long the intake call itself took to
	// answer.
	IntakeP50  time.Duration `json:"intake_p50_ns"`
	IntakeP99  time.Duration `json:"intake_p99_ns"`
	PeakRSSMiB float64       `json:"peak_rss_mib"`
}

// Sweep is a sweep with many open cases and nothing due.
type Sweep struct {
	Cases int           `json:"cases"`
	P50   time.Duration `json:"p50_ns"`
	// PeakRSSMiB covers loading the cases and the sweeps.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// LiveHeapMiB is what was live on the heap once the cases were
	// loaded, SettledHeapMiB after Options.Settle (0 when it was 0): the
	// whole process's, most of it the embedded server's subject state.
	LiveHeapMiB    float64 `json:"live_heap_mib"`
	SettledHeapMiB float64 `json:"settled_heap_mib,omitempty"`
}

// Bounds of Options: a run stays within minutes to an hour.
const (
	MaxReminders   = 10_000_000
	MaxCases       = 10_000_000
	MaxEvents      = 100_000
	MaxSweepPeriod = 10 * time.Minute // the latency run lasts about three periods
	MaxConcurrency = 4096
	MaxSettle      = 30 * time.Minute
)

// DefaultSettle is how long the end-to-end instance idles after loading
// its open cases. The embedded server keeps a per-block index of the
// subjects in each block it wrote or read in the last two minutes (its
// file store's subject-state expiry, not configurable through a stream),
// on top of the index per stream it always keeps. Right after a bulk load
// that is every block: with 1,000,000 cases about 280 MiB more live heap,
// and under serve's memory limit the collector then takes a large share of
// the CPU (on 2 cores the run went at well under half its settled speed).
// An instance whose book was written over days does not carry it, so the
// run starts once the server has dropped it.
const DefaultSettle = 2*time.Minute + 15*time.Second

// DefaultConcurrency is the end-to-end run's sends in flight: serve's own
// (the SMS provider's default concurrency), so that the run measures what
// serve does. The run is CPU-bound, so more in flight adds little and
// makes each send wait longer for a core: on 2 cores with 1,000,000 open
// cases, 128 in flight went no faster than 64 (4,605-4,830 reminders a
// second against 3,631-5,074 over eighteen runs) and its fence wait p99
// was longer (7.2-7.8 ms against 3.7-6.9 ms). --concurrency shows any
// other point of that trade.
var DefaultConcurrency = config.Default().Providers.SMS.Concurrency

// check fills in the defaults and refuses sizes out of bounds, naming the
// flag.
func (o *Options) check() error {
	if o.Reminders <= 0 {
		o.Reminders = 100_000
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Sweep == "" {
		o.Sweep = config.Default().Scheduler.Sweep
	}
	switch {
	case o.Reminders > MaxReminders:
		return fmt.Errorf("--reminders: at most %d, got %d", MaxReminders, o.Reminders)
	case o.Concurrency < 0 || o.Concurrency > MaxConcurrency:
		return fmt.Errorf("--concurrency: 1 to %d (0 for the default), got %d", MaxConcurrency, o.Concurrency)
	case o.Cases < 0 || o.Cases > MaxCases:
		return fmt.Errorf("--cases: 0 to %d, got %d", MaxCases, o.Cases)
	case o.Settle < 0 || o.Settle > MaxSettle:
		return fmt.Errorf("--settle: 0 to %v, got %v", MaxSettle, o.Settle)
	case o.Events < 0 || o.Events > MaxEvents:
		return fmt.Errorf("--events: 0 to %d, got %d", MaxEvents, o.Events)
	}
	if o.Events > 0 {
		period, err := sweepPeriod(o.Sweep)
		if err != nil {
			return fmt.Errorf("--sweep: %w", err)
		}
		if period > MaxSweepPeriod {
			return fmt.Errorf("--sweep: %q runs every %s, the bench takes at most %s (the latency run lasts about three periods)",
				o.Sweep, period, MaxSweepPeriod)
		}
	}
	return nil
}

// Run runs the benchmark and prints its figures to w: as text, a line as
// each measurement ends, or with Options.JSON as one JSON document at the
// end.
func Run(ctx context.Context, o Options, w io.Writer) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "forbear-bench-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	text := w
	if o.JSON {
		text = io.Discard
	}
	rss := newRSSMeter()
	res := Result{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Reminders: o.Reminders, RSSPerPhase: rss.perPhase}
	printHeader(text, &res)
	// A part that fails is reported and the others still run: a long run
	// keeps every figure it could take.
	var errs []error
	failed := func(part string, err error) {
		err = fmt.Errorf("%s: %w", part, err)
		errs = append(errs, err)
		res.Errors = append(res.Errors, err.Error())
		fmt.Fprintf(text, "%v\n", err)
	}

	rss.begin()
	if elapsed, err := raw(ctx, filepath.Join(dir, "raw"), o.Reminders); err != nil {
		failed("raw ceiling", err)
	} else {
		res.Raw = Raw{PerSec: float64(o.Reminders) / elapsed.Seconds(), Elapsed: elapsed, PeakRSSMiB: rss.end()}
		printRaw(text, &res)
	}

	rss.begin()
	endToEnd(ctx, filepath.Join(dir, "e2e"), o, rss, &res, text, failed)

	if o.Events > 0 {
		rss.begin()
		if lat, err := eventLatency(ctx, filepath.Join(dir, "latency"), o.Events, o.Sweep); err != nil {
			failed("event to provider", err)
		} else {
			lat.PeakRSSMiB = rss.end()
			res.Latency = &lat
			printLatency(text, &res)
		}
	}

	// A failed part's memory counts too.
	res.PeakRSSMiB = max(rss.peak, rss.end())
	res.RSSPerPhase = rss.perPhase
	printPeak(text, &res)
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// endToEnd runs the end-to-end part on one instance: the open cases first,
// with the sweep that finds nothing due among them, then the idle wait,
// then the reminders. A part that fails is passed to failed.
func endToEnd(ctx context.Context, dir string, o Options, rss *rssMeter, res *Result, text io.Writer, failed func(string, error)) {
	in, err := startInstance(ctx, dir, o.Concurrency)
	if err != nil {
		failed("end to end", err)
		return
	}
	defer in.stop()
	if o.Cases > 0 {
		p50, err := in.book(ctx, o.Cases)
		if err != nil {
			failed("sweep with nothing due", err)
			failed("end to end", errors.New("not run: its open cases could not be loaded"))
			return
		}
		res.Sweep = &Sweep{Cases: o.Cases, P50: p50, PeakRSSMiB: rss.end(), LiveHeapMiB: liveHeapMiB()}
		printSweep(text, res)
		if o.Settle > 0 {
			fmt.Fprintf(text, "  idle %v before the end-to-end run (--settle; README, \"Measuring: forbear bench\", says why)\n", o.Settle)
			if err := clock.Sleep(ctx, o.Settle); err != nil {
				failed("end to end", err)
				return
			}
			res.Sweep.SettledHeapMiB = liveHeapMiB()
		}
		printHeap(text, res, o.Settle)
	}
	e2e, err := in.run(ctx, o.Reminders, o.Profile)
	if err != nil {
		failed("end to end", err)
		return
	}
	res.EndToEnd = e2e
	res.EndToEnd.OpenCases = o.Cases
	if o.Cases > 0 { // no book, no wait
		res.EndToEnd.Settle = o.Settle
	}
	res.EndToEnd.PeakRSSMiB = rss.end()
	if res.Raw.PerSec > 0 {
		res.Ratio = res.EndToEnd.PerSec / res.Raw.PerSec
	}
	printEndToEnd(text, res)
}
