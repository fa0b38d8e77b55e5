package retention

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/store"
)

// DefaultMaxPerRun is how many index entries one run handles at most
// (purges, moves or drops: each reads the borrower's records).
const DefaultMaxPerRun = 10_000

// DefaultMaxWalkPerRun is how many index entries one run reads at most in
// its walk of the index (see walk): about four thousand direct get
// requests of a page each, however many of them are young.
const DefaultMaxWalkPerRun = 1_000_000

// DefaultMaxScanPerRun is how many stored records one run reads at most to
// index the records written before the index existed (see backfill):
// about a thousand direct get requests.
const DefaultMaxScanPerRun = 250_000

// Run schedule: a finished run comes back a day later, one that stopped
// at its bound at the next check; instances check every checkEvery. A
// claim holds for claimFor: a run that dies is taken up again then.
const (
	runEvery   = 24 * time.Hour
	claimFor   = time.Hour
	checkEvery = 10 * time.Minute
)

// Options configure a Purger.
type Options struct {
	JS    jetstream.JetStream
	Index *Index
	// Age is how long records are kept after the borrower's last one; 0
	// keeps them forever (no run removes anything). Every instance on one
	// NATS should have the same: each day's run is one instance's.
	Age   time.Duration
	Clock clock.Clock
	Log   *logrus.Entry
	// MaxPerRun bounds the index entries one run handles (default
	// DefaultMaxPerRun).
	MaxPerRun int
	// MaxScanPerRun bounds the records one run reads to index older ones
	// (default DefaultMaxScanPerRun).
	MaxScanPerRun int
	// MaxWalkPerRun bounds the index entries one run reads in its walk,
	// young ones and those of the older layout included (default
	// DefaultMaxWalkPerRun); a run that stops there goes on where it
	// stopped the next time.
	MaxWalkPerRun int
}

// Report is what one run did.
type Report struct {
	// Purged borrowers had every record removed.
	Purged int `json:"purged"`
	// Moved borrowers had a record newer than their index entry: they were
	// indexed at that record's day and kept.
	Moved int `json:"moved"`
	// Stale index entries were dropped: a borrower with no record left,
	// and the older layout's day entries (each folded into its borrower's
	// key first).
	Stale int `json:"stale"`
	// Scanned records from before the index were indexed.
	Scanned int `json:"scanned"`
	// Walked index entries were read by the walk, young ones included.
	Walked int `json:"walked"`
	// More is set when the run stopped at MaxPerRun, MaxScanPerRun or
	// MaxWalkPerRun with work left.
	More bool `json:"more"`
}

// Purger purges the records of borrowers idle for longer than the age.
type Purger struct {
	o          Options
	read       *store.Reader
	deliveries jetstream.Stream
	index      jetstream.Stream // the retention bucket's stream
	inbox      jetstream.Stream // the in-app inbox's stream (store.InboxBucket)
	// runs, scans and walks are the retention bucket's run schedule
	// (runKey), the scan of records older than the index (scanKey) and
	// where the walk of the index stopped (walkKey).
	runs  store.Bucket[schedule]
	scans store.Bucket[scanState]
	walks store.Bucket[walkState]
	// inboxBound, when set (by tests only), is called in handle once the
	// inbox's bound is taken, before the borrower's records are read.
	inboxBound func(borrower string)

	mu      sync.Mutex
	cancel  context.CancelFunc // ends the checks and a run in progress
	done    chan struct{}      // nil until Start
	stopped bool
}

// NewPurger binds the streams a purge works on.
func NewPurger(ctx context.Context, o Options) (*Purger, error) {
	if o.Age < 0 {
		return nil, errors.New("retention: the age must not be negative")
	}
	if o.MaxPerRun <= 0 {
		o.MaxPerRun = DefaultMaxPerRun
	}
	if o.MaxScanPerRun <= 0 {
		o.MaxScanPerRun = DefaultMaxScanPerRun
	}
	if o.MaxWalkPerRun <= 0 {
		o.MaxWalkPerRun = DefaultMaxWalkPerRun
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Log = logrus.NewEntry(l)
	}
	deliveries, err := o.JS.Stream(ctx, store.DeliveriesStream)
	if err != nil {
		return nil, fmt.Errorf("retention: stream %s: %w", store.DeliveriesStream, err)
	}
	index, err := o.JS.Stream(ctx, store.KVStream(store.RetentionBucket))
	if err != nil {
		return nil, fmt.Errorf("retention: bucket %s: %w", store.RetentionBucket, err)
	}
	// A purged borrower's in-app messages go with the trail (see
	// inbox.go); store.Setup creates the bucket.
	inbox, err := o.JS.Stream(ctx, store.KVStream(store.InboxBucket))
	if err != nil {
		return nil, fmt.Errorf("retention: inbox bucket %s: %w", store.InboxBucket, err)
	}
	kv := o.Index.days.KV()
	return &Purger{o: o, read: store.NewReader(o.JS), deliveries: deliveries, index: index, inbox: inbox,
		runs: store.NewBucket[schedule](o.JS, kv), scans: store.NewBucket[scanState](o.JS, kv), walks: store.NewBucket[walkState](o.JS, kv)}, nil
}

// schedule is the value of the run key: the earliest time the next run may
// start.
type schedule struct {
	Next time.Time `json:"next"`
}

// RunDue runs a purge when one is due and no other instance has claimed
// it: a day after the last finished run, at once after one that stopped
// at its bound, an hour after one that failed or died. The claim is a
// compare-and-set on the run key, so of instances checking at once one
// runs. It reports whether it ran. With an age of 0 it never runs: an
// instance that keeps records forever takes no part.
func (p *Purger) RunDue(ctx context.Context) (bool, Report, error) {
	if p.o.Age == 0 {
		return false, Report{}, nil
	}
	now := p.o.Clock.Now()
	s, rev, err := p.runs.Get(ctx, runKey)
	switch {
	case store.IsNotFound(err):
	case err != nil:
		return false, Report{}, fmt.Errorf("retention: read schedule: %w", err)
	case now.Before(s.Next):
		return false, Report{}, nil
	}
	// Claim: nobody else runs within the hour, even if this run dies.
	rev, err = p.runs.PutAt(ctx, runKey, schedule{Next: now.Add(claimFor)}, rev)
	if store.IsWrongSequence(err) {
		return false, Report{}, nil // another instance claimed it
	}
	if err != nil {
		return false, Report{}, fmt.Errorf("retention: claim the run: %w", err)
	}
	rep, err := p.Run(ctx)
	if err != nil {
		return true, rep, err
	}
	next := schedule{Next: now.Add(runEvery)}
	if rep.More {
		next.Next = p.o.Clock.Now()
	}
	if _, err := p.runs.PutAt(ctx, runKey, next, rev); err != nil && !store.IsWrongSequence(err) {
		return true, rep, fmt.Errorf("retention: schedule the next run: %w", err)
	}
	return true, rep, nil
}

// Run purges, now, the borrowers whose last record is older than the age,
// handling at most MaxPerRun index entries and reading at most
// MaxWalkPerRun of them, after indexing up to MaxScanPerRun records from
// before the index. With an age of 0 it does nothing.
func (p *Purger) Run(ctx context.Context) (Report, error) {
	var rep Report
	if p.o.Age == 0 {
		return rep, nil
	}
	if err := p.backfill(ctx, &rep); err != nil {
		return rep, err
	}
	cutoff := p.o.Clock.Now().Add(-p.o.Age)
	if err := p.walk(ctx, cutoff, &rep); err != nil {
		return rep, err
	}
	if rep.Purged+rep.Moved+rep.Stale+rep.Scanned+rep.Walked > 0 {
		p.o.Log.WithFields(logrus.Fields{"purged": rep.Purged, "moved": rep.Moved, "stale": rep.Stale, "scanned": rep.Scanned,
			"walked": rep.Walked, "more": rep.More, "before": cutoff.UTC().Format(time.RFC3339)}).Info("audit retention run")
	}
	return rep, nil
}

// Start checks every few minutes whether a run is due (RunDue), the first
// time at once, until Stop or ctx's end. It does nothing after Stop.
func (p *Purger) Start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.done != nil {
		return
	}
	ctx, p.cancel = context.WithCancel(ctx)
	done := make(chan struct{})
	p.done = done
	go func() {
		defer close(done)
		t := time.NewTicker(checkEvery)
		defer t.Stop()
		for {
			if _, _, err := p.RunDue(ctx); err != nil && ctx.Err() == nil {
				p.o.Log.WithError(err).Warn("audit retention run failed; the next check tries again")
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the checks, cuts a run in progress short and waits for it
// until ctx ends. A run cut short loses nothing: what it did not reach,
// the next one does.
func (p *Purger) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	if p.cancel != nil {
		p.cancel()
	}
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("retention: stop: %w", ctx.Err())
	}
}
