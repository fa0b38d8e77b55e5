package scheduler

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/store"
)

// DefaultNudgeGap is the least time between the starts of two now-lane
// sweeps. The first nudge after a quiet spell is swept at once; the gap
// only spaces the sweeps of a burst, so that it costs a few.
const DefaultNudgeGap = 250 * time.Millisecond

// Nudges. Reindex, on any instance, announces every subject it puts in the
// now lane with an empty core NATS message on store.SweepNudgeSubject,
// after the entry is stored. Every started Scheduler listens; the one that
// holds the lease sweeps the now lane alone (no time keys, no cursor) at
// once, so an event's reminders leave within moments rather than at the
// next scheduled sweep.
//
// A core message rather than a watch of the now lane: it costs no
// consumer and no stored write, and it carries nothing a watcher would
// add, since the sweep lists the lane itself. Its delivery is at most
// once; a nudge lost (a reconnect, no leader at that moment) costs only
// the wait for the next scheduled sweep, which lists the now lane as it
// always did. Nothing depends on a nudge arriving.
//
// Nudges coalesce: they set a single pending flag, and the loop starts a
// sweep when one is pending and, since the last start, Options.NudgeGap
// has passed and twice as long as that sweep took. Now-lane sweeps thus
// take at most half of the time however slow a loaded machine makes
// them, and leave the rest to intake and the workers. A nudge that arrives while a sweep runs leaves the flag set,
// so its subject, stored perhaps after that sweep listed the lane, is
// swept by the next one. A burst of thousands of events therefore costs
// one sweep per gap at most, each taking whatever the lane holds. Sweeps
// on an instance never overlap (they share the sweep lock with the
// scheduled one), and no now-lane sweep starts while a scheduled sweep
// waits for that lock, so the scheduled sweep waits for one now-lane
// sweep at most.

// nudgeLeader announces a change to the now lane. A failure is only
// logged: the scheduled sweep lists the lane anyway.
func (s *Scheduler) nudgeLeader() {
	if err := s.js.Conn().Publish(store.SweepNudgeSubject, nil); err != nil {
		s.log.WithError(err).Debug("scheduler: nudge not sent; the next scheduled sweep takes the subject")
	}
}

// listenForNudges subscribes to nudges; each sets the pending flag.
func (s *Scheduler) listenForNudges() (*nats.Subscription, error) {
	sub, err := s.js.Conn().Subscribe(store.SweepNudgeSubject, func(*nats.Msg) {
		select {
		case s.nudged <- struct{}{}:
		default: // one is pending already
		}
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: subscribe to nudges: %w", err)
	}
	return sub, nil
}

// nudgeLoop sweeps the now lane when nudged, at most once per gap, until
// quit is closed (Stop) or ctx ends.
func (s *Scheduler) nudgeLoop(ctx context.Context, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var lastStart time.Time
	var lastTook time.Duration
	for {
		select {
		case <-s.nudged:
		case <-quit:
			return
		case <-ctx.Done():
			return
		}
		if wait := max(s.nudgeGap, 2*lastTook) - time.Since(lastStart); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-quit:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		// Nudges that came during the gap are covered by this sweep,
		// which lists the lane after them.
		select {
		case <-s.nudged:
		default:
		}
		if !s.lease.valid() {
			continue // another instance leads and heard the nudge too
		}
		if s.scheduledWaiting.Load() > 0 {
			// A full sweep is about to take the lock; it lists the now
			// lane after this nudge arrived, so it covers it.
			continue
		}
		lastStart = time.Now()
		s.sweepNowLane(ctx)
		lastTook = time.Since(lastStart)
	}
}

// sweepNowLane runs one now-lane sweep, cancelled if the lease is lost.
// A panic is logged and contained, as the cron does for a scheduled
// sweep: the subjects stay in the lane for the next sweep.
func (s *Scheduler) sweepNowLane(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.WithFields(logrus.Fields{"panic": fmt.Sprint(r), "stack": string(debug.Stack())}).Error("scheduler: now-lane sweep panicked")
		}
	}()
	sweepCtx, end := s.whileLeading(ctx)
	defer end()
	s.laneSweeps.Add(1)
	stats, err := s.sweep(sweepCtx, true)
	if err != nil {
		s.log.WithError(err).Error("scheduler: now-lane sweep")
		return
	}
	// Debug even when something was due: under a stream of events there
	// is one of these every gap.
	s.log.WithFields(stats.fields()).Debug("scheduler: now-lane sweep")
}

// whileLeading returns a context for a sweep that the lease renewer
// cancels when this instance loses the lease, and the func that ends it.
func (s *Scheduler) whileLeading(ctx context.Context) (context.Context, func()) {
	sweepCtx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.sweepIDs++
	id := s.sweepIDs
	s.cancelSweeps[id] = cancel
	s.mu.Unlock()
	return sweepCtx, func() {
		s.mu.Lock()
		delete(s.cancelSweeps, id)
		s.mu.Unlock()
		cancel()
	}
}
