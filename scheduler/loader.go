package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Loader adds many subjects to the due index with pipelined writes, for
// bulk imports and benchmarks, where a Reindex round trip per subject would
// dominate. It never reads, so use it only for subjects not indexed yet.
type Loader struct {
	w       kvWrites
	pending acks
}

// NewLoader returns a Loader writing to the due bucket through js.
func NewLoader(js jetstream.JetStream) *Loader {
	return &Loader{w: newKVWrites(js, store.DueBucket)}
}

// Add indexes a subject at time at (the zero time: due now).
func (l *Loader) Add(ctx context.Context, kind, id string, at time.Time) error {
	if !validKind(kind) {
		return fmt.Errorf("scheduler: loader: unknown kind %q", kind)
	}
	sub := subject{kind: kind, id: id}
	key := sub.nowKey()
	if !at.IsZero() {
		key = sub.timeKey(at)
	}
	// The record first, as Reindex writes it.
	l.pending.add(l.w.put(sub.revKey(), record{Entry: key}.encode(), false, 0))
	l.pending.add(l.w.put(key, nil, false, 0))
	if l.pending.len() >= 2000 {
		return l.Flush(ctx)
	}
	return nil
}

// Flush waits until every write so far is stored.
func (l *Loader) Flush(ctx context.Context) error {
	if err := l.pending.wait(ctx); err != nil {
		return fmt.Errorf("scheduler: loader: %w", err)
	}
	return nil
}
