package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// DefaultMaxPerRun is how many index entries one run handles at most.
const DefaultMaxPerRun = 10_000

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

// maxFilters bounds the key filters of one listing request, as the
// scheduler's due index does.
const maxFilters = 64

// indexEpoch is the first day a listing covers: nothing forbear recorded is
// older.
var indexEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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
}

// Report is what one run did.
type Report struct {
	// Purged borrowers had every record removed.
	Purged int `json:"purged"`
	// Moved borrowers had a record newer than their index entry: they were
	// indexed at that record's day and kept.
	Moved int `json:"moved"`
	// Stale index entries (the borrower moved on to a later day, or had no
	// record left) were dropped.
	Stale int `json:"stale"`
	// Scanned records from before the index were indexed.
	Scanned int `json:"scanned"`
	// More is set when the run stopped at MaxPerRun or MaxScanPerRun with
	// work left.
	More bool `json:"more"`
}

// Purger purges the records of borrowers idle for longer than the age.
type Purger struct {
	o          Options
	read       *store.Reader
	deliveries jetstream.Stream
	index      jetstream.Stream // the retention bucket's stream
	// runs and scans are the retention bucket's run schedule (runKey) and
	// the scan of records older than the index (scanKey).
	runs  store.Bucket[schedule]
	scans store.Bucket[scanState]

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
	return &Purger{o: o, read: store.NewReader(o.JS), deliveries: deliveries, index: index,
		runs: store.NewBucket[schedule](o.JS, o.Index.days.KV()), scans: store.NewBucket[scanState](o.JS, o.Index.days.KV())}, nil
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
// at most MaxPerRun index entries, after indexing up to MaxScanPerRun
// records from before the index. With an age of 0 it does nothing.
func (p *Purger) Run(ctx context.Context) (Report, error) {
	var rep Report
	if p.o.Age == 0 {
		return rep, nil
	}
	if err := p.backfill(ctx, &rep); err != nil {
		return rep, err
	}
	now := p.o.Clock.Now()
	cutoff := now.Add(-p.o.Age)
	// Days strictly before the cutoff's: every borrower listed has been
	// idle since at least that day's end.
	lastDay := time.Date(cutoff.Year(), cutoff.Month(), cutoff.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	if lastDay.Before(indexEpoch) {
		return rep, nil
	}
	keys, more, err := p.list(ctx, dayFilters(indexEpoch, lastDay), p.o.MaxPerRun)
	if err != nil {
		return rep, err
	}
	rep.More = rep.More || more
	for _, key := range keys {
		if err := p.one(ctx, key, cutoff, &rep); err != nil {
			return rep, err
		}
	}
	if rep.Purged+rep.Moved+rep.Stale+rep.Scanned > 0 {
		p.o.Log.WithFields(logrus.Fields{"purged": rep.Purged, "moved": rep.Moved, "stale": rep.Stale, "scanned": rep.Scanned, "more": rep.More,
			"before": cutoff.UTC().Format(time.RFC3339)}).Info("audit retention run")
	}
	return rep, nil
}

// one handles one index entry d.<day>.<token>.
func (p *Purger) one(ctx context.Context, key string, cutoff time.Time, rep *Report) error {
	parts := strings.Split(key, ".")
	if len(parts) != 5 {
		return p.drop(ctx, key) // not an entry this version writes
	}
	entryDay, tok := parts[1]+"-"+parts[2]+"-"+parts[3], parts[4]
	borrower, err := store.FromToken(tok)
	if err != nil {
		return p.drop(ctx, key)
	}
	indexed, found, err := p.o.Index.lastDay(ctx, tok)
	if err != nil {
		return err
	}
	if found && indexed > entryDay {
		rep.Stale++
		return p.drop(ctx, key) // the borrower moved on to a later day
	}
	seq, at, found, err := p.newest(ctx, borrower)
	if err != nil {
		return err
	}
	switch {
	case !found:
		rep.Stale++
		return p.dropBorrower(ctx, key, tok)
	case !at.Before(cutoff):
		// A record the index missed: the borrower is active after all,
		// and listed from now on under that record's day (a later one
		// than this entry's, which is before the cutoff's).
		rep.Moved++
		if err := p.o.Index.set(ctx, map[string]string{tok: day(at)}); err != nil {
			return err
		}
		return p.drop(ctx, key)
	}
	// Everything up to the newest record read: one written since is newer
	// than the cutoff and stays.
	for _, filter := range []string{store.BorrowerRecordsFilter(borrower), store.LegacyDeliverySubject(borrower)} {
		if err := p.deliveries.Purge(ctx, jetstream.WithPurgeSubject(filter), jetstream.WithPurgeSequence(seq+1)); err != nil {
			return fmt.Errorf("retention: purge %s: %w", filter, err)
		}
	}
	rep.Purged++
	p.o.Log.WithField(logging.FieldBorrower, borrower).WithField("last_record", at.UTC().Format(time.RFC3339)).Info("records past retention purged")
	return p.dropBorrower(ctx, key, tok)
}

// newest is the sequence and time of a borrower's newest record (of the
// subjects per reminder and of suppression changes, and of the legacy
// one); found is false when there is none. The time is the record's own
// "at", the decision's time on forbear's clock, else the stream's.
func (p *Purger) newest(ctx context.Context, borrower string) (seq uint64, at time.Time, found bool, err error) {
	for _, filter := range []string{store.BorrowerRecordsFilter(borrower), store.LegacyDeliverySubject(borrower)} {
		msgs, err := p.read.Last(ctx, store.DeliveriesStream, filter, 1)
		if err != nil {
			return 0, time.Time{}, false, fmt.Errorf("retention: newest record of %s: %w", borrower, err)
		}
		if len(msgs) == 0 || msgs[0].Sequence < seq {
			continue
		}
		m := msgs[0]
		var rec struct {
			At time.Time `json:"at"`
		}
		seq, at, found = m.Sequence, m.Time, true
		if json.Unmarshal(m.Data, &rec) == nil && !rec.At.IsZero() {
			at = rec.At
		}
	}
	return seq, at, found, nil
}

// drop removes one key of the index, leaving no marker behind.
func (p *Purger) drop(ctx context.Context, key string) error {
	if err := p.index.Purge(ctx, jetstream.WithPurgeSubject(store.KVSubject(store.RetentionBucket, key))); err != nil {
		return fmt.Errorf("retention: drop %s: %w", key, err)
	}
	return nil
}

// dropBorrower removes a purged borrower from the index: the day entry and
// the borrower's day. A touch that lands meanwhile may be lost with them;
// its record is newer than the purge, and is found when its own day entry
// (written first) comes up.
func (p *Purger) dropBorrower(ctx context.Context, key, tok string) error {
	if err := p.drop(ctx, key); err != nil {
		return err
	}
	return p.drop(ctx, borrowerPrefix+tok)
}

// list returns up to max keys matching filters, and whether there are
// more.
func (p *Purger) list(ctx context.Context, filters []string, max int) ([]string, bool, error) {
	var keys []string
	for len(filters) > 0 {
		n := min(len(filters), maxFilters)
		// WatchFiltered rewrites the slice it is given: pass a copy.
		chunk := append([]string(nil), filters[:n]...)
		filters = filters[n:]
		more, err := p.listChunk(ctx, chunk, max, &keys)
		if err != nil || more {
			return keys, more, err
		}
	}
	return keys, false, nil
}

func (p *Purger) listChunk(ctx context.Context, filters []string, max int, keys *[]string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := p.o.Index.days.KV().WatchFiltered(ctx, filters, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return false, fmt.Errorf("retention: list the index: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return false, errors.New("retention: list the index: watcher closed")
			}
			if e == nil {
				return false, nil
			}
			if len(*keys) == max {
				return true, nil
			}
			*keys = append(*keys, e.Key())
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// dayFilters returns key filters that together match the day entries of
// the days from first to last (UTC, inclusive): a whole year, then whole
// months, then single days, so that they stay few however long the span.
func dayFilters(first, last time.Time) []string {
	var out []string
	end := last.AddDate(0, 0, 1) // exclusive
	for d := first; d.Before(end); {
		switch {
		case d.Month() == 1 && d.Day() == 1 && !d.AddDate(1, 0, 0).After(end):
			out = append(out, fmt.Sprintf("d.%04d.>", d.Year()))
			d = d.AddDate(1, 0, 0)
		case d.Day() == 1 && !d.AddDate(0, 1, 0).After(end):
			out = append(out, fmt.Sprintf("d.%04d.%02d.>", d.Year(), d.Month()))
			d = d.AddDate(0, 1, 0)
		default:
			out = append(out, fmt.Sprintf("d.%04d.%02d.%02d.>", d.Year(), d.Month(), d.Day()))
			d = d.AddDate(0, 0, 1)
		}
	}
	return out
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
