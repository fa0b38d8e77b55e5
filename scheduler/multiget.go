package scheduler

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// getMany reads the current values of keys in a bucket with one request
// per store.MaxGetMany keys instead of a round trip per key, which is what
// lets a sweep read thousands of cases quickly. Missing, deleted and
// purged keys are absent from the result. Values come as stored: the
// scheduler decodes each itself, so that one unreadable record fails only
// its own subject and not the batch.
func (s *Scheduler) getMany(ctx context.Context, kv jetstream.KeyValue, keys []string) (map[string]store.Entry[[]byte], error) {
	vals, err := store.NewBucket[[]byte](s.js, kv).GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return vals, nil
}
