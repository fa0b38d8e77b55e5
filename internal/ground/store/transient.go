package store

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/clock"
)

// Attempt bounds of Retry: each attempt of an operation gets AttemptTimeout,
// and all of them together at most RetryBudget.
const (
	AttemptTimeout = 2 * time.Second
	RetryBudget    = 30 * time.Second
)

// IsTransient reports an error that a moment later may not recur: a request
// that found no stream leader (an election after a node died) or no
// responder, timed out, or met a cluster the server calls temporarily
// unavailable. A request sent while a stream has no leader is never
// answered, so the caller's timeout is its only end.
func IsTransient(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Code == http.StatusServiceUnavailable
	}
	return false
}

// Retry runs op until it succeeds, fails for a reason that is not
// transient, or RetryBudget (or ctx) ends. Each attempt runs under its own
// AttemptTimeout rather than the client's default of several seconds: on a
// cluster, a request sent while a stream was electing a leader is lost, and
// the next attempt, sent once the leader is there, is what answers the
// caller soon after the cluster is whole again. op must be idempotent.
func Retry(ctx context.Context, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, RetryBudget)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		actx, acancel := context.WithTimeout(ctx, AttemptTimeout)
		err := op(actx)
		acancel()
		if err == nil || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		if clock.Sleep(ctx, pause) != nil {
			return err
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}
