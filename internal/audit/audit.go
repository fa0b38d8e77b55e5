// Package audit writes and reads delivery records: one JetStream message per
// decision about a reminder, on forbear.deliveries.<borrower>, so that
// support staff can see what was sent, suppressed or failed and why.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/store"
)

// Recorder writes and reads delivery records.
type Recorder struct {
	js       jetstream.JetStream
	instance string
}

// New returns a Recorder; instance names this forbear instance in records.
func New(js jetstream.JetStream, instance string) *Recorder {
	return &Recorder{js: js, instance: instance}
}

// Record stores d and waits for the stream to acknowledge it.
func (r *Recorder) Record(ctx context.Context, d domain.Delivery) error {
	f, err := r.RecordAsync(d)
	if err != nil {
		return err
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RecordAsync publishes d without waiting; callers that batch wait on the
// returned future (or on js.PublishAsyncComplete).
func (r *Recorder) RecordAsync(d domain.Delivery) (jetstream.PubAckFuture, error) {
	if d.Instance == "" {
		d.Instance = r.instance
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	f, err := r.js.PublishAsync(store.DeliverySubject(d.BorrowerID), data)
	if err != nil {
		return nil, fmt.Errorf("audit: record %s %s: %w", d.ID, d.Status, err)
	}
	return f, nil
}

// List returns up to limit (0: all) of a borrower's records, newest first.
func (r *Recorder) List(ctx context.Context, borrowerID string, limit int) ([]domain.Delivery, error) {
	// limit 0: every record.
	c, err := r.js.OrderedConsumer(ctx, store.DeliveriesStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{store.DeliverySubject(borrowerID)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	pending := int(info.NumPending)
	out := make([]domain.Delivery, 0, pending)
	for seen := 0; seen < pending; {
		batch, err := c.Fetch(pending-seen, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			seen++
			var d domain.Delivery
			if json.Unmarshal(m.Data(), &d) == nil {
				out = append(out, d)
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		if n == 0 {
			break
		}
	}
	// Newest first, keep the newest limit.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Find returns the newest record of reminder id (for borrowerID) whose
// status is one of statuses. A worker asks it before resending a
// redelivered reminder.
func (r *Recorder) Find(ctx context.Context, borrowerID, id string, statuses ...domain.Status) (domain.Delivery, bool, error) {
	list, err := r.List(ctx, borrowerID, 0)
	if err != nil {
		return domain.Delivery{}, false, err
	}
	for _, d := range list {
		if d.ID == id && slices.Contains(statuses, d.Status) {
			return d, true, nil
		}
	}
	return domain.Delivery{}, false, nil
}
