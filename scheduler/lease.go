package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/store"
)

// leaseValue is what the lease key holds.
type leaseValue struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// lease is a leadership lease on one KV key, taken with compare-and-set
// (store.Bucket.Update): a create when the key is absent, an update on the
// revision read when the holder is us or the lease has expired, so two
// contenders can never both win the same revision. Expiry uses the
// injected clock.
type lease struct {
	leases store.Bucket[leaseValue]
	key    string
	holder string
	ttl    time.Duration
	clock  clock.Clock

	mu      sync.Mutex
	held    bool
	rev     uint64
	expires time.Time
}

// acquire takes, renews or fails to take the lease, and reports whether
// this holder has it now.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	val := leaseValue{Holder: l.holder, Expires: now.Add(l.ttl)}
	// A missing or released lease reads as the zero value, which has
	// expired.
	rev, err := l.leases.Update(ctx, l.key, func(cur *leaseValue) (bool, error) {
		if cur.Holder != l.holder && now.Before(cur.Expires) {
			return false, nil // someone else holds it
		}
		*cur = val
		return true, nil
	})
	if err != nil {
		// What we held stays ours until it expires, whether or not the
		// renewal landed.
		l.held = l.held && now.Before(l.expires)
		return l.held, fmt.Errorf("scheduler: take lease: %w", err)
	}
	if rev == 0 {
		l.held = false
		return false, nil
	}
	l.held, l.rev, l.expires = true, rev, val.Expires
	return true, nil
}

// valid reports whether the lease is held and unexpired by our clock.
func (l *lease) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held && l.clock.Now().Before(l.expires)
}

// release deletes the lease if we still hold the revision we wrote, so a
// successor does not wait for it to expire.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return nil
	}
	l.held = false
	if err := l.leases.KV().Delete(ctx, l.key, jetstream.LastRevision(l.rev)); err != nil && !store.IsWrongSequence(err) {
		return fmt.Errorf("scheduler: release lease: %w", err)
	}
	return nil
}

// SweepLease reads who holds the sweep lease (in store.LeasesBucket) and
// until when, as of now on the scheduler's clock. ok is false when no
// instance holds it: never taken, released, or expired.
func SweepLease(ctx context.Context, leases jetstream.KeyValue, now time.Time) (holder string, expires time.Time, ok bool, err error) {
	v, _, err := store.NewBucket[leaseValue](nil, leases).Get(ctx, leaseKey)
	if store.IsNotFound(err) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("scheduler: read lease: %w", err)
	}
	if v.Holder == "" || !now.Before(v.Expires) {
		return "", time.Time{}, false, nil
	}
	return v.Holder, v.Expires, true, nil
}
