package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// stallWait is how long an async publish may wait for room under the
	// connection's max-pending cap before failing; the cap is what paces a
	// big sweep, so waiting is right and failing fast is not.
	stallWait = 30 * time.Second
	// ackTimeout bounds the wait for one acknowledgement: a lost ack must
	// not wedge a sweep forever.
	ackTimeout = 30 * time.Second
)

// acks collects the futures of asynchronous publishes so that a worker can
// issue many and wait for them in one go.
type acks struct {
	fs   []jetstream.PubAckFuture
	errs []error
}

// add records the result of an async publish call.
func (a *acks) add(f jetstream.PubAckFuture, err error) {
	if err != nil {
		a.errs = append(a.errs, err)
		return
	}
	a.fs = append(a.fs, f)
}

func (a *acks) len() int { return len(a.fs) }

// wait waits for every recorded future and resets a. It returns the
// errors joined.
func (a *acks) wait(ctx context.Context) error {
	errs := a.errs
	for _, f := range a.fs {
		if err := waitAck(ctx, f); err != nil {
			errs = append(errs, err)
		}
	}
	a.fs, a.errs = a.fs[:0], nil
	return errors.Join(errs...)
}

// waitAck waits for one publish acknowledgement.
func waitAck(ctx context.Context, f jetstream.PubAckFuture) error {
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-t.C:
		return fmt.Errorf("scheduler: no ack after %s: %w", ackTimeout, context.DeadlineExceeded)
	case <-ctx.Done():
		return ctx.Err()
	}
}
