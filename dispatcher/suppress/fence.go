package suppress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// markerPrefix starts the keys of fence markers. It cannot collide with a
// borrower key because store.Token never produces a '.'. A round writes its
// instance's marker only when the bucket has no newest entry to wait for
// (see head).
const markerPrefix = "_fence."

// roundsInFlight caps the fence rounds that run at once. A Check never waits
// for a round that started before it (that round proves nothing about it),
// so a Check that finds a round in flight starts another one beside it
// rather than queueing behind it; with the cap reached, Checks gather in the
// next round, which starts as soon as one finishes. Each round is one
// request to the suppression stream's leader, so the cap also bounds that
// load: at most roundsInFlight requests at a time, however many sends wait.
const roundsInFlight = 2

// Fence answers "is this borrower suppressed?" with a view that provably
// includes every suppression acknowledged before the question was asked.
// One fence round (a question to the suppression stream's leader, then a
// wait until the watcher has applied what the answer names) serves every
// question that arrived before the round started.
type Fence struct {
	state  *store.State
	kv     jetstream.KeyValue
	marker string
	lease  time.Duration
	log    *logrus.Entry
	obs    func(time.Duration)
	check  func(time.Duration)
	// ask is a round's question to the leader: head, wrapped by tests
	// that act between the answer and the wait.
	ask func(context.Context) (uint64, error)

	// Rounds (see join). Waiting Checks hold only a pointer to their round,
	// so there is no queue to bound: their number is the number of
	// goroutines calling Check, which the workers' concurrency bounds.
	rmu      sync.Mutex
	run      context.Context // rounds run under it; nil until Start
	next     *round          // gathers Checks until it starts; nil when none wait
	inflight int             // rounds started and not finished, at most roundsInFlight

	// The watched copy, and what is known about how fresh it is.
	mu      sync.Mutex
	cache   map[string]domain.Suppressions // by store.Token(borrower)
	applied uint64                         // highest revision a watcher applied
	advance chan struct{}                  // closed when applied moves
	stale   bool                           // a round gave up on the watcher: restart it
	// Skips: a watcher is an ordered consumer, which delivers the messages
	// of the bucket in revision order but passes over a message already
	// replaced by a newer revision of its key (the bucket keeps one per
	// key). Until that newer revision arrives, the cache holds an older one,
	// so "the watcher applied revision p" alone does not prove the cache
	// holds every key as of p (see settle).
	delivered uint64 // revision of the current watcher's last entry, 0 after a restart
	skipped   uint64 // highest revision a watcher passed over
	skips     uint64 // how many times a watcher passed over revisions
	exact     uint64 // for every key the cache holds its newest revision at or below this one, or a newer one
}

// round is one fence round and the Checks that wait for it.
type round struct {
	done chan struct{} // closed when res is set
	res  fenceResult
}

type fenceResult struct {
	// validUntil is the round's start plus a lease. It is only meaningful
	// when the round proved the cache fresh (not degraded): a degraded
	// round has waited a whole lease and its own validity is spent.
	validUntil time.Time
	degraded   bool // the watcher lagged: read the leader instead of the cache
	err        error
}

// FenceOptions configure a Fence.
type FenceOptions struct {
	// Instance names this forbear instance; its marker key is per instance.
	Instance string
	// Lease is how long a fence result may be used to start a provider call.
	Lease time.Duration
	// Observe, if set, receives the duration of each fence round.
	Observe func(time.Duration)
	// ObserveCheck, if set, receives how long each Check waited (what a
	// send pays for the fence).
	ObserveCheck func(time.Duration)
	Log          *logrus.Entry
}

// NewFence returns a fence over the suppression bucket. Start must run
// before Check answers.
func NewFence(state *store.State, o FenceOptions) *Fence {
	if o.Lease <= 0 {
		o.Lease = 200 * time.Millisecond
	}
	if o.Observe == nil {
		o.Observe = func(time.Duration) {}
	}
	if o.ObserveCheck == nil {
		o.ObserveCheck = func(time.Duration) {}
	}
	f := &Fence{
		state:   state,
		kv:      state.SuppressionKV,
		marker:  markerPrefix + store.Token(o.Instance),
		lease:   o.Lease,
		log:     o.Log,
		obs:     o.Observe,
		check:   o.ObserveCheck,
		cache:   map[string]domain.Suppressions{},
		advance: make(chan struct{}),
	}
	f.ask = f.head
	return f
}

// Lease is how long a fence result may be used to start a provider call.
func (f *Fence) Lease() time.Duration { return f.lease }

// Start loads the suppression bucket and runs the watcher, and lets Checks
// run fence rounds, until ctx ends.
func (f *Fence) Start(ctx context.Context) error {
	w, err := f.watch(ctx)
	if err != nil {
		return err
	}
	go f.watchLoop(ctx, w)
	f.startRounds(ctx)
	return nil
}

// startRounds lets Checks run fence rounds under ctx.
func (f *Fence) startRounds(ctx context.Context) {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	f.run = ctx
}

func (f *Fence) watch(ctx context.Context) (jetstream.KeyWatcher, error) {
	w, err := f.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("fence: watch suppressions: %w", err)
	}
	return w, nil
}

// watchLoop applies suppression updates to the cache. When a round finds
// the watcher behind (watchers can stall after a server restart), the loop
// replaces it with a fresh one.
func (f *Fence) watchLoop(ctx context.Context, w jetstream.KeyWatcher) {
	restart := time.NewTicker(time.Second)
	defer restart.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return
		case e, ok := <-w.Updates():
			if !ok {
				w = f.rewatch(ctx, w)
				continue
			}
			if e != nil {
				f.apply(e)
			}
		case <-restart.C:
			f.mu.Lock()
			stale := f.stale
			f.stale = false
			f.mu.Unlock()
			if stale {
				w = f.rewatch(ctx, w)
			}
		}
	}
}

func (f *Fence) rewatch(ctx context.Context, old jetstream.KeyWatcher) jetstream.KeyWatcher {
	_ = old.Stop()
	for {
		w, err := f.watch(ctx)
		if err == nil {
			f.log.Warn("suppression watcher restarted")
			// The new watcher starts from the first revision: what it
			// passes over counts from there.
			f.mu.Lock()
			f.delivered = 0
			f.mu.Unlock()
			return w
		}
		f.log.WithError(err).Error("suppression watcher restart failed; retrying")
		select {
		case <-ctx.Done():
			return old
		case <-time.After(time.Second):
		}
	}
}

func (f *Fence) apply(e jetstream.KeyValueEntry) {
	key := e.Key()
	var sup domain.Suppressions
	isMarker := len(key) > len(markerPrefix) && key[:len(markerPrefix)] == markerPrefix
	if !isMarker && e.Operation() == jetstream.KeyValuePut {
		if err := json.Unmarshal(e.Value(), &sup); err != nil {
			f.log.WithError(err).WithField("key", key).Error("undecodable suppression value ignored")
			isMarker = true // still advance the sequence
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !isMarker {
		if e.Operation() == jetstream.KeyValuePut {
			f.cache[key] = sup
		} else {
			delete(f.cache, key)
		}
	}
	rev := e.Revision()
	if rev > f.delivered+1 {
		// Revisions delivered+1 .. rev-1 were passed over: replaced (or,
		// from a new watcher, older than what it starts with).
		f.skipped = max(f.skipped, rev-1)
		f.skips++
	}
	f.delivered = max(f.delivered, rev)
	if rev > f.applied {
		f.applied = rev
		close(f.advance)
		f.advance = make(chan struct{})
	}
}

// join returns the round that answers a Check asked now: the next round to
// start, started at once when fewer than roundsInFlight run. A round only
// proves freshness for Checks that joined it before it started, so a Check
// never joins a round in flight, nor reuses a finished round's result.
func (f *Fence) join() (*round, error) {
	f.rmu.Lock()
	defer f.rmu.Unlock()
	if f.run == nil {
		return nil, errors.New("fence: not started")
	}
	if f.next == nil {
		f.next = &round{done: make(chan struct{})}
	}
	r := f.next
	if f.inflight < roundsInFlight {
		f.startNext()
	}
	return r, nil
}

// startNext starts the gathering round; f.rmu is held. The round takes its
// start time after this, so every Check that joined it was asked before.
func (f *Fence) startNext() {
	r, ctx := f.next, f.run
	f.next = nil
	f.inflight++
	go func() {
		r.res = f.round(ctx)
		close(r.done)
		f.rmu.Lock()
		defer f.rmu.Unlock()
		f.inflight--
		if f.next != nil {
			f.startNext()
		}
	}()
}

// round proves the cache fresh as of its start s: it asks the suppression
// stream's leader for its newest revision p (every suppression acknowledged
// before s is at or below p), then waits until the cache holds every key as
// of p (see settle). The result is valid until s + lease.
func (f *Fence) round(ctx context.Context) fenceResult {
	start := time.Now()
	defer func() { f.obs(time.Since(start)) }()
	res := fenceResult{validUntil: start.Add(f.lease)}
	rctx, cancel := context.WithTimeout(ctx, f.lease)
	defer cancel()
	target, err := f.ask(rctx)
	if err != nil {
		res.err = err
		return res
	}
	var resolving uint64 // the skip count settle asked this round to resolve
	for {
		if !f.waitApplied(rctx, target) {
			// The watcher did not reach the target within the lease: the
			// cache proves nothing and this round's validity is spent.
			// Each waiting Check reads its borrower from the stream leader
			// instead (a proof of its own, see Check), and the watcher is
			// replaced.
			f.mu.Lock()
			f.stale = true
			f.mu.Unlock()
			res.degraded = true
			return res
		}
		skips, fresh := f.settle(resolving)
		if fresh {
			return res
		}
		resolving = skips
		if target, err = f.ask(rctx); err != nil {
			// The lease ran out while the watcher kept passing over
			// revisions (or the leader stopped answering): the waiting
			// Checks read the leader instead. The watcher itself is not
			// stuck, so it stays.
			res.degraded = true
			return res
		}
	}
}

// head returns a revision at or beyond every suppression acknowledged
// before the call: the bucket's newest entry as the stream leader has it
// (no replica answers, so none that is behind). Asking costs no stored
// write, and when the watcher has already applied that entry, as it has
// whenever no suppression changed since, the round ends on the answer.
func (f *Fence) head(ctx context.Context) (uint64, error) {
	rev, err := store.LastRevision(ctx, f.kv)
	if errors.Is(err, store.ErrNotFound) {
		// No message at the stream's last sequence (an empty bucket, or
		// its newest entry removed without a successor): there is no
		// revision a watcher would deliver, so store one. It lands after
		// every write acknowledged before the call.
		rev, err = f.kv.Put(ctx, f.marker, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("fence: newest suppression revision: %w", err)
	}
	return rev, nil
}

// waitApplied waits until a watcher has applied revision target; false when
// ctx ends first.
func (f *Fence) waitApplied(ctx context.Context, target uint64) bool {
	for {
		f.mu.Lock()
		applied, advance := f.applied, f.advance
		f.mu.Unlock()
		if applied >= target {
			return true
		}
		select {
		case <-advance:
		case <-ctx.Done():
			return false
		}
	}
}

// settle is called once a watcher has applied the round's target p. The
// cache then holds every key as of p unless a watcher passed over a
// revision r (r was replaced before it got there) whose replacement it has
// not applied yet. Such a replacement was stored before the watcher passed
// over r, so it lies at or below any newest revision the leader names
// after that: settle returns false and the skip count, the round asks the
// leader again and waits for that revision, and when nothing more was
// passed over meanwhile, every replacement is in (a replacement itself
// passed over would have counted as a skip). exact records the result so
// that later rounds skip the second question while nothing new is passed
// over. resolving is the skip count this round is resolving, 0 at first.
func (f *Fence) settle(resolving uint64) (skips uint64, fresh bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skipped <= f.exact || f.skips == resolving {
		f.exact = max(f.exact, f.applied)
		return 0, true
	}
	return f.skips, false
}

// ErrFenceUnavailable wraps failures to run a fence round; the reminder is
// retried later.
var ErrFenceUnavailable = errors.New("suppression fence unavailable")

// Check returns the borrower's suppressions as of a moment after the call
// began, and until when a provider call may start on that basis.
func (f *Fence) Check(ctx context.Context, borrowerID string) (domain.Suppressions, time.Time, error) {
	start := time.Now()
	defer func() { f.check(time.Since(start)) }()
	r, err := f.join()
	if err != nil {
		return domain.Suppressions{}, time.Time{}, fmt.Errorf("%w: %w", ErrFenceUnavailable, err)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return domain.Suppressions{}, time.Time{}, ctx.Err()
	}
	res := r.res
	if res.err != nil {
		return domain.Suppressions{}, time.Time{}, fmt.Errorf("%w: %w", ErrFenceUnavailable, res.err)
	}
	if res.degraded {
		return f.leaderRead(ctx, borrowerID)
	}
	return f.Cached(borrowerID), res.validUntil, nil
}

// leaderRead is the fence's fallback when the watcher lags: the
// borrower's suppressions read from the suppression stream's leader (the
// bucket has no direct get, so no replica answers). The read is a proof of
// the same kind as a round, with its start r in place of the round's start
// s. The leader stores a write before it acknowledges it and answers reads
// in order, so the answer holds every suppression acknowledged before r;
// a suppression the read missed was acknowledged after r and its caller's
// acknowledgement is held two leases after that (Hold). A call cleared by
// the read therefore starts before r + lease, a lease before that
// acknowledgement: the same margin a round gives. The answer is valid
// until r + lease, not from the round's start, which already lies a whole
// lease in the past when the round gives up on the watcher.
func (f *Fence) leaderRead(ctx context.Context, borrowerID string) (domain.Suppressions, time.Time, error) {
	readStart := time.Now()
	sup, err := f.state.Suppressions(ctx, borrowerID)
	if err != nil {
		return domain.Suppressions{}, time.Time{}, fmt.Errorf("%w: %w", ErrFenceUnavailable, err)
	}
	return sup, readStart.Add(f.lease), nil
}

// Cached returns the watcher's current view of a borrower's suppressions
// without a fence: fine for scheduling and display, never for a send.
func (f *Fence) Cached(borrowerID string) domain.Suppressions {
	f.mu.Lock()
	defer f.mu.Unlock()
	sup, ok := f.cache[store.Token(borrowerID)]
	if !ok {
		sup.BorrowerID = borrowerID
	}
	return sup
}

// Hold is called after a suppression write and before its
// acknowledgement. One lease is what the proof needs (see the package
// documentation); the second lease covers the cleared call's transit, so
// that the provider itself also receives it before the acknowledgement.
func (f *Fence) Hold(ctx context.Context) error {
	return clock.Sleep(ctx, 2*f.lease)
}
