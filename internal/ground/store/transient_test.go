package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

func TestRetryTriesTransientFailuresAgain(t *testing.T) {
	t.Parallel()
	attempts := 0
	err := store.Retry(context.Background(), func(ctx context.Context) error {
		attempts++
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > store.AttemptTimeout {
			t.Errorf("attempt %d has no deadline of its own within %s", attempts, store.AttemptTimeout)
		}
		switch attempts {
		case 1:
			return jetstream.ErrNoStreamResponse // no leader: the request was lost
		case 2:
			return context.DeadlineExceeded // the attempt's own deadline
		}
		return nil
	})
	if err != nil || attempts != 3 {
		t.Errorf("Retry = %v after %d attempts, want success at the third", err, attempts)
	}
}

func TestRetryStopsAtAPermanentFailure(t *testing.T) {
	t.Parallel()
	permanent := errors.New("bad data")
	attempts := 0
	err := store.Retry(context.Background(), func(context.Context) error {
		attempts++
		return permanent
	})
	if !errors.Is(err, permanent) || attempts != 1 {
		t.Errorf("Retry = %v after %d attempts, want the failure at once", err, attempts)
	}
}

func TestRetryEndsWithItsCaller(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	attempts := 0
	err := store.Retry(ctx, func(context.Context) error {
		attempts++
		if attempts == 2 {
			cancel()
		}
		return nats.ErrNoResponders
	})
	if !errors.Is(err, nats.ErrNoResponders) || attempts != 2 {
		t.Errorf("Retry = %v after %d attempts, want the last failure once the caller gave up", err, attempts)
	}
}
