package stats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Counts are delivery counts by channel, then status.
type Counts map[string]map[string]int64

// add counts n records of channel and status.
func (c Counts) add(channel, status string, n int64) {
	if c[channel] == nil {
		c[channel] = map[string]int64{}
	}
	c[channel][status] += n
}

// merge adds every count of o to c.
func (c Counts) merge(o Counts) {
	for ch, byStatus := range o {
		for st, n := range byStatus {
			c.add(ch, st, n)
		}
	}
}

// hourValue is the value of one key of store.StatsBucket: one instance's
// counts of one hour.
type hourValue struct {
	Instance string `json:"instance"`
	// Fold is the id of the last fold added: a fold whose write succeeded
	// but whose answer was lost is not added again when it is retried.
	Fold   uint64 `json:"fold"`
	Counts Counts `json:"counts"`
}

// hourFormat names an hour (UTC) in a key.
const hourFormat = "2006010215"

func statsKey(hour time.Time, instance string) string {
	return hour.UTC().Format(hourFormat) + "." + store.Token(instance)
}

// DefaultFoldInterval is how often a Counter folds its counts into the
// bucket.
const DefaultFoldInterval = 5 * time.Second

// foldTimeout bounds one periodic fold: a request that gets no answer (a
// stream without a leader) must not hold the folding, or Stop, for ever.
// What it did not write stays pending for the next fold.
const foldTimeout = 5 * time.Second

// CounterOptions configure a Counter.
type CounterOptions struct {
	// Instance names this instance; it must differ between instances.
	Instance string
	// Interval between folds (default DefaultFoldInterval).
	Interval time.Duration
	Log      *logrus.Entry
}

// fold is counts on their way into one hour's key, under an id that stays
// the same until the write is known to have landed.
type fold struct {
	id     uint64
	counts Counts
}

// Counter counts the delivery records of this instance in memory and folds
// them into store.StatsBucket.
type Counter struct {
	counts   store.Bucket[hourValue]
	o        CounterOptions
	mu       sync.Mutex
	fresh    map[time.Time]Counts // hour -> counts not yet in a fold
	pending  map[time.Time]*fold  // hour -> a fold not yet known to be stored
	lastFold uint64
	cancel   context.CancelFunc // ends the folding loop
	done     chan struct{}
}

// NewCounter binds the stats bucket (store.Setup must have run).
func NewCounter(ctx context.Context, js jetstream.JetStream, o CounterOptions) (*Counter, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultFoldInterval
	}
	counts, err := store.OpenTyped[hourValue](ctx, js, store.StatsBucket)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return &Counter{counts: counts, o: o, fresh: map[time.Time]Counts{}, pending: map[time.Time]*fold{}}, nil
}

// Add counts one delivery record, in the hour of its decision. It is the
// audit Recorder's observer: quick, no I/O.
func (c *Counter) Add(d domain.Delivery) {
	hour := d.At.UTC().Truncate(time.Hour)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh[hour] == nil {
		c.fresh[hour] = Counts{}
	}
	c.fresh[hour].add(string(d.Channel), string(d.Status), 1)
}

// Start folds every Interval until Stop (or until ctx ends).
func (c *Counter) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			foldCtx, cancel := context.WithTimeout(ctx, max(c.o.Interval, foldTimeout))
			err := c.Flush(foldCtx)
			cancel()
			if err != nil && ctx.Err() == nil {
				c.o.Log.WithError(err).Warn("delivery counts not folded; they are kept and tried again")
			}
		}
	}()
}

// Stop ends the folding (a fold under way is cut short; its counts stay
// pending) and folds what is left, within ctx.
func (c *Counter) Stop(ctx context.Context) error {
	if c.cancel != nil {
		c.cancel()
		<-c.done
		c.cancel = nil
	}
	return c.Flush(ctx)
}

// Flush adds the counts not yet folded to their hours' keys. A key whose
// write fails keeps its counts for the next Flush, which tries the same
// fold again (and recognises it if it did land); counts made meanwhile
// wait for the fold after it. Flush must not run concurrently with itself
// (Start runs it from one goroutine; Stop after that goroutine ended).
func (c *Counter) Flush(ctx context.Context) error {
	c.mu.Lock()
	for hour, counts := range c.fresh {
		if c.pending[hour] != nil {
			continue
		}
		c.pending[hour] = &fold{id: c.nextFoldLocked(), counts: counts}
		delete(c.fresh, hour)
	}
	work := make(map[time.Time]*fold, len(c.pending))
	for hour, f := range c.pending {
		work[hour] = f
	}
	c.mu.Unlock()

	var errs []error
	for hour, f := range work {
		_, err := c.counts.Update(ctx, statsKey(hour, c.o.Instance), func(v *hourValue) (bool, error) {
			if v.Fold >= f.id {
				return false, nil // this fold landed on an earlier try
			}
			if v.Counts == nil {
				v.Counts = Counts{}
			}
			v.Instance, v.Fold = c.o.Instance, f.id
			v.Counts.merge(f.counts)
			return true, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("stats: fold %s: %w", hour.Format(time.RFC3339), err))
			continue
		}
		c.mu.Lock()
		delete(c.pending, hour)
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

// nextFoldLocked returns a fold id larger than every earlier one, also
// across restarts of an instance of the same name (wall-clock based).
func (c *Counter) nextFoldLocked() uint64 {
	c.lastFold = max(c.lastFold+1, uint64(time.Now().UnixNano()))
	return c.lastFold
}
