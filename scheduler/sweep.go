package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Stats summarise one sweep.
type Stats struct {
	// Due is the number of current index entries that were due and
	// processed (stale entries are not counted).
	Due int
	// Listed is the number of index entries the listing returned,
	// stale ones included.
	Listed int
	// Lists is the number of key-listing calls the sweep made.
	Lists int
	// Published is the number of reminders published.
	Published int
	// Skipped is the number of reminders of live occurrences not
	// published: already published, suppressed, or held by an agreement.
	Skipped int
	// Dropped is the number of subjects removed from the index (closed,
	// missing, inactive, or nothing left to send).
	Dropped int
	// Failed is the number of subjects whose processing failed; they are
	// due again at the next sweep.
	Failed int
	// Duration is how long the sweep took (wall time).
	Duration time.Duration
}

func (st Stats) fields() logrus.Fields {
	return logrus.Fields{
		"due": st.Due, "listed": st.Listed, "lists": st.Lists, "published": st.Published,
		"skipped": st.Skipped, "dropped": st.Dropped, "failed": st.Failed, "duration": st.Duration.String(),
	}
}

// sweep is the state of one Sweep call shared by its workers.
type sweep struct {
	s           *Scheduler
	nowLaneOnly bool // a sweep a nudge asked for
	now         time.Time
	floor       time.Time // earliest minute a new time key may use: after the cursor

	// debug: whether debug logs are on; building a per-reminder log entry
	// otherwise costs a map and several allocations for nothing.
	debug bool

	seen sync.Map // listed keys already taken by a worker

	listed, due, published, skipped, dropped, failed atomic.Int64
	incomplete                                       atomic.Bool
	// leftListed: a listed entry was left for a later sweep (a failed
	// subject a now-lane sweep passes over), so the listing is not all
	// handled and must not be purged.
	leftListed atomic.Bool
}

// Sweep processes every due index entry at the clock's now: it publishes
// the latest live occurrence of each step of each due loan or agreement,
// once, and moves the entry to its next due time (or drops it). Its cost
// is proportional to what is due, not to the number of cases. Sweep does
// not check the lease; Start and SweepIfLeader do.
func (s *Scheduler) Sweep(ctx context.Context) (Stats, error) {
	return s.sweep(ctx, false)
}

// sweep is Sweep, or with nowLaneOnly a sweep of the now lane alone that
// leaves the time keys and the cursor to the scheduled sweep.
func (s *Scheduler) sweep(ctx context.Context, nowLaneOnly bool) (Stats, error) {
	if !nowLaneOnly {
		s.scheduledWaiting.Add(1) // now-lane sweeps give way meanwhile
	}
	s.sweepMu.Lock()
	if !nowLaneOnly {
		s.scheduledWaiting.Add(-1)
	}
	defer s.sweepMu.Unlock()
	began := time.Now()
	defer s.watchBudget(began)()
	now := s.clock.Now()

	cur, err := s.cursor(ctx)
	if err != nil {
		return Stats{}, err
	}
	upto := now.UTC().Truncate(time.Minute)
	next := upto
	if cur.After(upto) || nowLaneOnly {
		// The clock went back (or another leader's ran ahead): never
		// move the cursor backwards. A now-lane sweep lists no minutes,
		// so it leaves the cursor where it is, and a subject it moves
		// lands after it.
		next = cur
	}
	if !nowLaneOnly {
		s.failed.Clear() // this sweep retries them
	}
	sw := &sweep{s: s, nowLaneOnly: nowLaneOnly, now: now, floor: next.Add(time.Minute), debug: s.log.Logger.IsLevelEnabled(logrus.DebugLevel)}
	filters := []string{nowPrefix + ">"}
	if !nowLaneOnly {
		filters = append(rangeFilters(cur, upto), filters...)
	}

	entries := make(chan listed, 1024)
	var chunks []listedChunk
	var listErr error
	go func() {
		defer close(entries)
		chunks, listErr = listEntries(ctx, s.due, filters, entries)
	}()
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			w := &worker{sw: sw}
			w.run(ctx, entries)
		})
	}
	wg.Wait()

	stats := Stats{
		Due: int(sw.due.Load()), Listed: int(sw.listed.Load()), Lists: len(chunks),
		Published: int(sw.published.Load()), Skipped: int(sw.skipped.Load()),
		Dropped: int(sw.dropped.Load()), Failed: int(sw.failed.Load()),
	}
	switch {
	case listErr != nil:
		err = listErr
	case sw.incomplete.Load():
		err = errors.New("scheduler: sweep incomplete: some subjects could not be requeued")
	case ctx.Err() != nil:
		err = ctx.Err()
	case sw.leftListed.Load():
		// The listing stays for the sweep that handles what was left;
		// this one never moves the cursor (it is a now-lane sweep).
	default:
		// Every listed entry is handled: moved, dropped, requeued or
		// found stale. Only now do they go, all at once, and only then
		// does the cursor pass them; a crash or a failed purge before
		// leaves them to be listed again, and found stale.
		if err = s.purgeListed(ctx, chunks); err == nil && !next.Equal(cur) {
			if _, perr := s.due.Put(ctx, cursorKey, []byte(next.Format(cursorLayout))); perr != nil {
				err = fmt.Errorf("scheduler: write cursor: %w", perr)
			}
		}
	}
	stats.Duration = time.Since(began)
	if !nowLaneOnly { // the histogram is of scheduled sweeps, which have a budget
		s.metrics.Sweep(stats.Duration)
	}
	s.metrics.Published(stats.Published)
	if stats.Duration > s.budget {
		s.log.WithFields(stats.fields()).WithField("budget", s.budget.String()).Warn("scheduler: sweep ended past its budget")
	}
	return stats, err
}

// purgeListed removes what a sweep listed, each listing's entries up to
// the highest revision it returned: an entry written since (a Reindex's,
// or a move of this sweep's, always after the cursor) stays.
func (s *Scheduler) purgeListed(ctx context.Context, chunks []listedChunk) error {
	for _, c := range chunks {
		if c.upto == 0 {
			continue // found nothing
		}
		for _, f := range c.filters {
			if err := s.dueW.purge(ctx, f, c.upto); err != nil {
				return fmt.Errorf("scheduler: remove listed entries: %w", err)
			}
		}
	}
	return nil
}

// watchBudget marks a sweep as running from began and, should it still
// run when its budget is spent, warns and counts the overrun at that
// moment rather than when (or if) it ends. The returned func ends the
// watch.
func (s *Scheduler) watchBudget(began time.Time) (end func()) {
	s.sweepBegan.Store(began.UnixNano())
	t := time.AfterFunc(s.budget-time.Since(began), func() { // the budget counts from began
		s.metrics.SweepOverrun()
		s.log.WithField("budget", s.budget.String()).Warn("scheduler: sweep still running past its budget; later runs are skipped until it ends")
	})
	return func() {
		t.Stop()
		s.sweepBegan.Store(0)
	}
}
