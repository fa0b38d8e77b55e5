package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/ground/tz"
)

// Defaults of Options.
const (
	DefaultSpec       = "@every 1m"
	DefaultCatchUp    = 24 * time.Hour
	DefaultPolicyID   = "standard"
	DefaultWorkers    = 16
	DefaultBatch      = 32
	DefaultLeaseTTL   = 15 * time.Second
	leaseKey          = "scheduler"
	openBucketTimeout = 10 * time.Second
)

// DefaultSweepBudget leaves a sweep on the default one-minute schedule
// room to finish before the next is due.
const DefaultSweepBudget = 50 * time.Second

// ErrAlreadyStarted is returned by Start on a running Scheduler.
var ErrAlreadyStarted = errors.New("scheduler: already started")

// Options configure a Scheduler. JS, State and Policies are required; the
// rest have defaults.
type Options struct {
	// JS publishes reminders and reaches the due, occurrences and leases
	// buckets (store.Setup must have run).
	JS jetstream.JetStream
	// State reads cases, agreements, borrowers and suppressions.
	State *store.State
	// Suppressions, when set, is a cached view of a borrower's
	// suppressions (such as the delivery fence's watcher), returning false
	// when it has no view. A sweep trusts it only to let reminders
	// through: whatever the view would withhold, or a borrower it has no
	// view of, is read from the stream leader as without it. A stale view
	// can therefore only let through a reminder that a suppression made
	// moments ago covers, and the send-time fence stops that one. It
	// saves the sweep a leader read per borrower. It is called from
	// several goroutines at once. Nil: every borrower with something to
	// send is read from the leader.
	Suppressions func(borrowerID string) (domain.Suppressions, bool)
	// Audit records a "queued" delivery for every published reminder; nil
	// records nothing.
	Audit *audit.Recorder
	// Policies are the compiled policies.
	Policies Policies
	// DefaultPolicy is used for a case with no policy (default
	// "standard"). It must exist and be anchored on the due date.
	DefaultPolicy string
	// AgreementPolicy is used for an agreement with no policy of its own
	// (config agreements.policy). Empty: such agreements get no
	// reminders. When set it must exist and be anchored on instalments.
	AgreementPolicy string
	// DefaultTimezone is the zone of a borrower with none (or an unknown
	// one); default UTC.
	DefaultTimezone *time.Location
	// Spec is the robfig/cron sweep schedule: five fields (or six with
	// seconds), descriptors such as "@every 1m", and a CRON_TZ= prefix.
	// Without CRON_TZ it is read in the server's local time. Default
	// "@every 1m".
	Spec string
	// CatchUp is how long a one-shot occurrence (or the last of a bounded
	// series) may still be sent after it was due; default 24h.
	CatchUp time.Duration
	// Clock is "now" for occurrences and lease expiry; default the wall
	// clock.
	Clock clock.Clock
	// Log receives the scheduler's logs; default a logger on stderr.
	Log *logrus.Entry
	// Instance names this instance as the lease holder; default the host
	// name and a random suffix.
	Instance string
	// Workers is how many batches of due subjects a sweep processes at
	// once; default 16.
	Workers int
	// Batch is the most subjects a worker reads and publishes for
	// together; default 32. Workers*Batch*(reminders per subject) is
	// roughly the number of publishes in flight: keep it near the client's
	// async-publish cap (4000 by default); beyond it, publishes wait.
	Batch int
	// LeaseTTL is how long the leadership lease lasts without renewal;
	// default 15s. It is renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// SweepBudget is how long a sweep may run before it is reported: a
	// warning when it crosses the budget, forbear_sweep_overruns_total,
	// and Degraded until it ends. Default 50s.
	SweepBudget time.Duration
	// Metrics receives sweep durations, overruns, skipped runs and
	// published reminders; nil records nothing.
	Metrics *metrics.Metrics
	// NudgeGap is the least time between the starts of two sweeps of the
	// now lane that Reindex's nudges ask for (see nudge.go); default
	// DefaultNudgeGap.
	NudgeGap time.Duration
}

// Scheduler sweeps the due index and publishes due reminders.
type Scheduler struct {
	js         jetstream.JetStream
	state      *store.State
	cachedSup  func(borrowerID string) (domain.Suppressions, bool)
	audit      *audit.Recorder
	planner    Planner
	defZone    *time.Location
	spec       string
	clock      clock.Clock
	log        *logrus.Entry
	instance   string
	workers    int
	batch      int
	due        jetstream.KeyValue
	dueW       kvWrites
	occ        jetstream.KeyValue
	lease      *lease
	budget     time.Duration
	metrics    *metrics.Metrics
	nudgeGap   time.Duration
	nudged     chan struct{} // holds one pending nudge; more coalesce into it
	laneSweeps atomic.Int64  // now-lane sweeps run, for tests
	// failed holds the now-lane keys of the subjects that failed since
	// the last scheduled sweep, which retries them. Now-lane sweeps skip
	// them: a broken record is retried once per schedule, as before
	// nudges, not once per nudge while events flow. It holds no more
	// keys than subjects fail in one period.
	failed  sync.Map
	sweepMu sync.Mutex // one sweep at a time
	// scheduledWaiting counts full sweeps waiting for sweepMu; a now-lane
	// sweep about to start gives way to them, since they list the now
	// lane too, once they hold the lock.
	scheduledWaiting atomic.Int32
	sweepBegan       atomic.Int64 // wall-clock start of the running sweep in Unix ns; 0 when none runs
	mu               sync.Mutex   // guards the fields below
	cron             *cron.Cron
	cancelRun        context.CancelFunc
	renewDone        chan struct{}
	nudgeSub         *nats.Subscription
	quitNudges       chan struct{} // closed by Stop: no new now-lane sweep
	nudgesDone       chan struct{}
	sweepIDs         uint64
	cancelSweeps     map[uint64]context.CancelFunc // cancel the running sweeps when the lease is lost
}

// New validates o and returns a Scheduler; it binds the buckets but starts
// nothing.
func New(o Options) (*Scheduler, error) {
	if o.JS == nil {
		return nil, errors.New("scheduler: Options.JS is required")
	}
	if o.State == nil {
		return nil, errors.New("scheduler: Options.State is required")
	}
	if len(o.Policies) == 0 {
		return nil, errors.New("scheduler: Options.Policies is empty")
	}
	if o.DefaultPolicy == "" {
		o.DefaultPolicy = DefaultPolicyID
	}
	if p, ok := o.Policies[o.DefaultPolicy]; !ok {
		return nil, fmt.Errorf("scheduler: default policy %q is not defined", o.DefaultPolicy)
	} else if p.Anchor != AnchorDueDate {
		return nil, fmt.Errorf("scheduler: default policy %q must be anchored on the due date", o.DefaultPolicy)
	}
	if o.AgreementPolicy != "" {
		if p, ok := o.Policies[o.AgreementPolicy]; !ok {
			return nil, fmt.Errorf("scheduler: agreement policy %q is not defined", o.AgreementPolicy)
		} else if p.Anchor != AnchorInstallment {
			return nil, fmt.Errorf("scheduler: agreement policy %q must have anchor: installment", o.AgreementPolicy)
		}
	}
	if o.DefaultTimezone == nil {
		o.DefaultTimezone = time.UTC
	}
	if o.Spec == "" {
		o.Spec = DefaultSpec
	}
	if _, err := ParseSpec(o.Spec); err != nil {
		return nil, err
	}
	if o.CatchUp <= 0 {
		o.CatchUp = DefaultCatchUp
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = logrus.NewEntry(logrus.New())
	}
	if o.Instance == "" {
		o.Instance = defaultInstance()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.SweepBudget <= 0 {
		o.SweepBudget = DefaultSweepBudget
	}
	if o.NudgeGap <= 0 {
		o.NudgeGap = DefaultNudgeGap
	}
	ctx, cancel := context.WithTimeout(context.Background(), openBucketTimeout)
	defer cancel()
	buckets := map[string]jetstream.KeyValue{}
	for _, b := range []string{store.DueBucket, store.OccurrencesBucket, store.LeasesBucket} {
		kv, err := o.JS.KeyValue(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("scheduler: bucket %s: %w", b, err)
		}
		buckets[b] = kv
	}
	dueW := newKVWrites(o.JS, store.DueBucket)
	var err error
	if dueW.stream, err = o.JS.Stream(ctx, store.KVStream(store.DueBucket)); err != nil {
		return nil, fmt.Errorf("scheduler: bucket %s: %w", store.DueBucket, err)
	}
	log := o.Log.WithField("component", "scheduler")
	s := &Scheduler{
		js: o.JS, state: o.State, cachedSup: o.Suppressions, audit: o.Audit,
		planner: Planner{Policies: o.Policies, DefaultPolicy: o.DefaultPolicy, AgreementPolicy: o.AgreementPolicy, CatchUp: o.CatchUp},
		defZone: o.DefaultTimezone, spec: o.Spec, clock: o.Clock, log: log, instance: o.Instance,
		workers: o.Workers, batch: o.Batch,
		due: buckets[store.DueBucket], dueW: dueW,
		occ:    buckets[store.OccurrencesBucket],
		budget: o.SweepBudget, metrics: o.Metrics,
		nudgeGap: o.NudgeGap, nudged: make(chan struct{}, 1), cancelSweeps: map[uint64]context.CancelFunc{},
	}
	s.lease = &lease{leases: store.NewBucket[leaseValue](o.JS, buckets[store.LeasesBucket]), key: leaseKey, holder: o.Instance, ttl: o.LeaseTTL, clock: o.Clock}
	return s, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// specParser accepts five fields, an optional leading seconds field,
// descriptors ("@every 1m", "@daily") and CRON_TZ=.
func specParser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// ParseSpec parses a sweep schedule the way Start will, so configuration
// can be validated up front.
func ParseSpec(spec string) (cron.Schedule, error) {
	sch, err := specParser().Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("scheduler: sweep spec %q: %w", spec, err)
	}
	return sch, nil
}

// jobWrappers is the cron chain. The order matters: SkipIfStillRunning
// must wrap Recover. The other way round, a panic escapes past
// SkipIfStillRunning before it gives its token back, and the job is
// skipped forever after.
func jobWrappers(l cron.Logger) []cron.JobWrapper {
	return []cron.JobWrapper{cron.SkipIfStillRunning(l), cron.Recover(l)}
}

// Start runs the sweep on its cron schedule, and a sweep of the now lane
// whenever a Reindex (on any instance) nudges, until Stop. Every instance
// may run it; only the holder of the leadership lease sweeps. ctx bounds
// only the start-up.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cron != nil {
		return ErrAlreadyStarted
	}
	l := cronLogger{log: s.log, skipped: s.metrics.SweepSkipped}
	c := cron.New(cron.WithParser(specParser()), cron.WithLogger(l), cron.WithChain(jobWrappers(l)...))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if _, err := c.AddJob(s.spec, cron.FuncJob(func() { s.tick(runCtx) })); err != nil {
		cancel()
		return fmt.Errorf("scheduler: sweep spec %q: %w", s.spec, err)
	}
	sub, err := s.listenForNudges()
	if err != nil {
		cancel()
		return err
	}
	if _, err := s.lease.acquire(ctx); err != nil {
		// Not fatal: another instance may lead, and the renewer retries.
		s.log.WithError(err).Warn("scheduler: lease")
	}
	s.cron, s.cancelRun, s.renewDone = c, cancel, make(chan struct{})
	s.nudgeSub, s.quitNudges, s.nudgesDone = sub, make(chan struct{}), make(chan struct{})
	go s.renewLoop(runCtx, s.renewDone)
	go s.nudgeLoop(runCtx, s.quitNudges, s.nudgesDone)
	c.Start()
	s.log.WithFields(logrus.Fields{"spec": s.spec, "instance": s.instance}).Info("scheduler: started")
	return nil
}

// Stop stops the cron and the nudges, waits for a running sweep to finish
// (or ctx to end, which cancels it), and releases the lease so another
// instance can take over at once.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	c, cancel, renewDone := s.cron, s.cancelRun, s.renewDone
	sub, quitNudges, nudgesDone := s.nudgeSub, s.quitNudges, s.nudgesDone
	s.cron = nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	if uerr := sub.Unsubscribe(); uerr != nil {
		s.log.WithError(uerr).Debug("scheduler: unsubscribe from nudges")
	}
	close(quitNudges)
	var err error
	cronDone := c.Stop().Done()
	for _, done := range []<-chan struct{}{cronDone, nudgesDone} {
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("scheduler: stop: %w", ctx.Err())
		}
		if err != nil {
			break
		}
	}
	cancel() // ends the renewer and, on timeout, the running sweeps
	<-renewDone
	relCtx, relCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer relCancel()
	if rerr := s.lease.release(relCtx); rerr != nil {
		s.log.WithError(rerr).Warn("scheduler: release lease")
	}
	return err
}

// tick is the cron job: sweep if this instance leads.
func (s *Scheduler) tick(ctx context.Context) {
	stats, led, err := s.SweepIfLeader(ctx)
	switch {
	case err != nil:
		s.log.WithError(err).Error("scheduler: sweep")
	case led && stats.Due > 0:
		s.log.WithFields(stats.fields()).Info("scheduler: sweep")
	case led:
		s.log.WithFields(stats.fields()).Debug("scheduler: sweep")
	}
}

// SweepIfLeader takes or renews the leadership lease and, if this instance
// holds it, sweeps. led reports whether it swept. The sweep is cancelled
// if the lease is lost while it runs.
func (s *Scheduler) SweepIfLeader(ctx context.Context) (stats Stats, led bool, err error) {
	held, err := s.lease.acquire(ctx)
	if err != nil || !held {
		return Stats{}, false, err
	}
	sweepCtx, end := s.whileLeading(ctx)
	defer end()
	stats, err = s.Sweep(sweepCtx)
	return stats, true, err
}

// Degraded returns an error while a sweep on this instance has been
// running longer than its budget (Options.SweepBudget), nil otherwise.
// Readiness reports it: nothing due is sent while one sweep overruns,
// because the next runs are skipped.
func (s *Scheduler) Degraded() error {
	began := s.sweepBegan.Load()
	if began == 0 {
		return nil
	}
	if age := time.Since(time.Unix(0, began)); age > s.budget {
		return fmt.Errorf("degraded: the sweep has been running for %s, past its budget of %s", age.Round(time.Millisecond), s.budget)
	}
	return nil
}

// IsLeader reports whether this instance holds an unexpired lease.
func (s *Scheduler) IsLeader() bool { return s.lease.valid() }

// renewLoop keeps the lease fresh (or takes it when the holder let it
// expire) every third of its TTL.
func (s *Scheduler) renewLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.lease.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		was := s.lease.valid()
		held, err := s.lease.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WithError(err).Warn("scheduler: renew lease")
		}
		if was && !held {
			s.log.WithField("instance", s.instance).Warn("scheduler: lost leadership")
			s.mu.Lock()
			for _, cancel := range s.cancelSweeps {
				cancel()
			}
			s.mu.Unlock()
		} else if !was && held {
			s.log.WithField("instance", s.instance).Info("scheduler: leading")
		}
	}
}

// location resolves a borrower's IANA zone name (tz.Load caches it; a big
// sweep asks thousands of times), falling back to the default zone.
func (s *Scheduler) location(name string) *time.Location {
	if name == "" {
		return s.defZone
	}
	loc, err := tz.Load(name)
	if err != nil {
		s.log.WithField("timezone", name).Debug("scheduler: unknown time zone, using the default")
		return s.defZone
	}
	return loc
}

// cronLogger adapts logrus to cron.Logger. Cron's routine messages (wake,
// run) go to debug; a run skipped because the previous sweep is still
// running goes to warn (and to skipped), since every skip is a minute in
// which nothing due was sent; errors, including recovered panics, go to
// error.
type cronLogger struct {
	log     *logrus.Entry
	skipped func() // counts skipped runs; may be nil
}

// Info implements cron.Logger.
func (c cronLogger) Info(msg string, keysAndValues ...any) {
	if msg == "skip" { // cron.SkipIfStillRunning's message
		if c.skipped != nil {
			c.skipped()
		}
		c.log.WithFields(kvFields(keysAndValues)).Warn("scheduler: sweep still running, this run is skipped")
		return
	}
	c.log.WithFields(kvFields(keysAndValues)).Debug("cron: " + msg)
}

// Error implements cron.Logger.
func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.log.WithError(err).WithFields(kvFields(keysAndValues)).Error("cron: " + msg)
}

func kvFields(kv []any) logrus.Fields {
	f := logrus.Fields{}
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		if i+1 < len(kv) {
			f[key] = kv[i+1]
		} else {
			f[key] = nil
		}
	}
	return f
}
