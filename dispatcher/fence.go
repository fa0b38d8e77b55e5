package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/store"
)

// markerPrefix starts the keys of fence markers. It cannot collide with a
// borrower key because store.Token never produces a '.'.
const markerPrefix = "_fence."

// Fence answers "is this borrower suppressed?" with a view that provably
// includes every suppression acknowledged before the question was asked.
// One fence round (one KV write and its echo through the watcher) serves
// every question that arrived before the round started.
type Fence struct {
	state  *store.State
	kv     jetstream.KeyValue
	marker string
	lease  time.Duration
	log    *logrus.Entry
	obs    func(time.Duration)
	check  func(time.Duration)

	reqs chan chan fenceResult

	mu      sync.Mutex
	cache   map[string]domain.Suppressions // by store.Token(borrower)
	applied uint64                         // highest revision the watcher applied
	advance chan struct{}                  // closed when applied moves
	stale   bool                           // the watcher missed a round: restart it
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
	return &Fence{
		state:   state,
		kv:      state.SuppressionKV,
		marker:  markerPrefix + store.Token(o.Instance),
		lease:   o.Lease,
		log:     o.Log,
		obs:     o.Observe,
		check:   o.ObserveCheck,
		reqs:    make(chan chan fenceResult, 4096),
		cache:   map[string]domain.Suppressions{},
		advance: make(chan struct{}),
	}
}

// Lease is how long a fence result may be used to start a provider call.
func (f *Fence) Lease() time.Duration { return f.lease }

// Start loads the suppression bucket and runs the watcher and the fence
// rounds until ctx ends.
func (f *Fence) Start(ctx context.Context) error {
	w, err := f.watch(ctx)
	if err != nil {
		return err
	}
	go f.watchLoop(ctx, w)
	go f.roundLoop(ctx)
	return nil
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
	if e.Revision() > f.applied {
		f.applied = e.Revision()
		close(f.advance)
		f.advance = make(chan struct{})
	}
}

// roundLoop runs fence rounds. Requests that arrive while a round is in
// flight wait for the next one: a round only proves freshness for questions
// asked before it started.
func (f *Fence) roundLoop(ctx context.Context) {
	var nonce uint64
	for {
		var batch []chan fenceResult
		select {
		case <-ctx.Done():
			return
		case r := <-f.reqs:
			batch = append(batch, r)
		}
	drain:
		for {
			select {
			case r := <-f.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		nonce++
		res := f.round(ctx, nonce)
		for _, r := range batch {
			r <- res
		}
	}
}

func (f *Fence) round(ctx context.Context, nonce uint64) fenceResult {
	start := time.Now()
	defer func() { f.obs(time.Since(start)) }()
	res := fenceResult{validUntil: start.Add(f.lease)}
	rctx, cancel := context.WithTimeout(ctx, f.lease)
	defer cancel()
	rev, err := f.kv.Put(rctx, f.marker, []byte(strconv.FormatUint(nonce, 10)))
	if err != nil {
		res.err = fmt.Errorf("fence: write marker: %w", err)
		return res
	}
	for {
		f.mu.Lock()
		applied, advance := f.applied, f.advance
		f.mu.Unlock()
		if applied >= rev {
			return res
		}
		select {
		case <-advance:
		case <-rctx.Done():
			// The watcher did not echo our marker within the lease: the
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
	}
}

// ErrFenceUnavailable wraps failures to run a fence round; the reminder is
// retried later.
var ErrFenceUnavailable = errors.New("suppression fence unavailable")

// Check returns the borrower's suppressions as of a moment after the call
// began, and until when a provider call may start on that basis.
func (f *Fence) Check(ctx context.Context, borrowerID string) (domain.Suppressions, time.Time, error) {
	start := time.Now()
	defer func() { f.check(time.Since(start)) }()
	done := make(chan fenceResult, 1)
	select {
	case f.reqs <- done:
	case <-ctx.Done():
		return domain.Suppressions{}, time.Time{}, ctx.Err()
	}
	var res fenceResult
	select {
	case res = <-done:
	case <-ctx.Done():
		return domain.Suppressions{}, time.Time{}, ctx.Err()
	}
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
