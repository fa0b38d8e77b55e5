package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/store"
)

// Instance is one running forbear instance as its heartbeat describes it.
type Instance struct {
	Name    string    `json:"name"`
	Host    string    `json:"host"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// HTTP is the address the instance's API listens on ("" without one).
	HTTP string `json:"http,omitempty"`
	// Beat is when the instance last wrote its heartbeat.
	Beat time.Time `json:"beat"`
}

// DefaultBeatInterval is how often an instance renews its heartbeat; the
// bucket drops a heartbeat store.InstanceTTL after its last renewal.
const DefaultBeatInterval = 5 * time.Second

// beatTimeout bounds one heartbeat write: one that gets no answer (a stream
// without a leader) must not hold the next, or Stop.
const beatTimeout = 5 * time.Second

// Heartbeat keeps one instance's entry in store.InstancesBucket while it
// runs. Its times are wall-clock times, as the bucket's TTL is.
type Heartbeat struct {
	beats    store.Bucket[Instance]
	self     Instance
	interval time.Duration
	log      *logrus.Entry
	cancel   context.CancelFunc // ends the renewals
	done     chan struct{}
}

// NewHeartbeat binds the instances bucket for self (store.Setup must have
// run); Beat and Started are set by Start.
func NewHeartbeat(ctx context.Context, js jetstream.JetStream, self Instance, log *logrus.Entry) (*Heartbeat, error) {
	beats, err := store.OpenTyped[Instance](ctx, js, store.InstancesBucket)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return &Heartbeat{beats: beats, self: self, interval: DefaultBeatInterval, log: log}, nil
}

// Start writes the first heartbeat, so the instance is listed once Start
// returns, then renews it every interval until Stop (or until ctx ends).
func (h *Heartbeat) Start(ctx context.Context) error {
	h.self.Started = time.Now().UTC()
	if err := h.beat(ctx); err != nil {
		return err
	}
	ctx, h.cancel = context.WithCancel(ctx)
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(h.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := h.beat(ctx); err != nil && ctx.Err() == nil {
				h.log.WithError(err).Warn("heartbeat not written")
			}
		}
	}()
	return nil
}

// Stop ends the renewals and deletes the heartbeat, within ctx: the
// instance leaves the list at once rather than when its TTL runs out.
func (h *Heartbeat) Stop(ctx context.Context) error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	<-h.done
	h.cancel = nil
	if err := h.beats.KV().Delete(ctx, store.Token(h.self.Name)); err != nil {
		return fmt.Errorf("stats: delete heartbeat: %w", err)
	}
	return nil
}

func (h *Heartbeat) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, beatTimeout)
	defer cancel()
	h.self.Beat = time.Now().UTC()
	// One writer per key (the instance itself): a plain put.
	if _, err := h.beats.Put(ctx, store.Token(h.self.Name), h.self); err != nil {
		return fmt.Errorf("stats: heartbeat: %w", err)
	}
	return nil
}
