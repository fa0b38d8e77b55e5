package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/store"
)

// leaseValue is what the lease key holds.
type leaseValue struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// lease is a leadership lease on one KV key. It is taken with Create when
// the key is absent and with a compare-and-set Update on the revision read
// when the holder is us or the lease has expired, so two contenders can
// never both win the same revision. Expiry uses the injected clock.
type lease struct {
	kv     jetstream.KeyValue
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
	data, err := json.Marshal(val)
	if err != nil {
		return false, err
	}
	e, err := l.kv.Get(ctx, l.key)
	var rev uint64
	switch {
	case store.IsNotFound(err):
		// Create also takes a key whose last operation was a delete
		// (a released lease).
		rev, err = l.kv.Create(ctx, l.key, data)
	case err != nil:
		l.held = l.held && now.Before(l.expires)
		return l.held, fmt.Errorf("scheduler: read lease: %w", err)
	default:
		var cur leaseValue
		if jerr := json.Unmarshal(e.Value(), &cur); jerr == nil && cur.Holder != l.holder && now.Before(cur.Expires) {
			l.held = false
			return false, nil
		}
		rev, err = l.kv.Update(ctx, l.key, data, e.Revision())
	}
	if err != nil {
		l.held = false
		if store.IsWrongSequence(err) {
			return false, nil // someone else got there first
		}
		return false, fmt.Errorf("scheduler: take lease: %w", err)
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
	if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev)); err != nil && !store.IsWrongSequence(err) {
		return fmt.Errorf("scheduler: release lease: %w", err)
	}
	return nil
}

// SweepLease reads who holds the sweep lease (in store.LeasesBucket) and
// until when, as of now on the scheduler's clock. ok is false when no
// instance holds it: never taken, released, or expired.
func SweepLease(ctx context.Context, leases jetstream.KeyValue, now time.Time) (holder string, expires time.Time, ok bool, err error) {
	e, err := leases.Get(ctx, leaseKey)
	if store.IsNotFound(err) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("scheduler: read lease: %w", err)
	}
	var v leaseValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return "", time.Time{}, false, fmt.Errorf("scheduler: decode lease: %w", err)
	}
	if v.Holder == "" || !now.Before(v.Expires) {
		return "", time.Time{}, false, nil
	}
	return v.Holder, v.Expires, true, nil
}
