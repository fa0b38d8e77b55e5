package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
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
	fs   []pendingAck
	errs []error
}

type pendingAck struct {
	f jetstream.PubAckFuture
	// cas marks a compare-and-set write whose losing a race is expected.
	cas bool
}

// add records the result of an async publish call.
func (a *acks) add(f jetstream.PubAckFuture, err error) {
	if err != nil {
		a.errs = append(a.errs, err)
		return
	}
	a.fs = append(a.fs, pendingAck{f: f})
}

// addCAS records a compare-and-set write; a wrong-sequence answer is not an
// error.
func (a *acks) addCAS(f jetstream.PubAckFuture, err error) {
	if err != nil {
		a.errs = append(a.errs, err)
		return
	}
	a.fs = append(a.fs, pendingAck{f: f, cas: true})
}

func (a *acks) len() int { return len(a.fs) }

// wait waits for every recorded future and resets a. It returns the
// errors joined.
func (a *acks) wait(ctx context.Context) error {
	errs := a.errs
	for _, p := range a.fs {
		if err := waitAck(ctx, p.f); err != nil && !(p.cas && store.IsWrongSequence(err)) {
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
