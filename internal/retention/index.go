package retention

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/store"
)

// Key layout in store.RetentionBucket. The index is one key per borrower:
// a rewrite replaces the key's older message (the bucket keeps a history
// of 1), so the bucket holds a message per borrower, not per borrower and
// active day, and the purge walks it in stream order (see walk.go).
const (
	borrowerPrefix = "b." // b.<token>: the day of the borrower's last record
	// dayPrefix is the older layout's second key, d.<yyyy>.<mm>.<dd>.<token>
	// (the borrower under that day), which this version no longer writes:
	// a purge run folds what is left of it into the borrower keys.
	dayPrefix = "d."
	runKey    = "run"
	dayLayout = time.DateOnly
)

// maxTouched bounds the borrowers one instance remembers having indexed
// today; past it the memory starts over (and some borrowers are written
// again, which is harmless).
const maxTouched = 100_000

// touchTimeout is how long a touch waits for the server's acknowledgement
// before it counts as lost.
const touchTimeout = 30 * time.Second

// Index is the retention index: per borrower, the day of the last record.
// It is safe for concurrent use.
type Index struct {
	// days holds the index's values as they are: a day (YYYY-MM-DD) under
	// a borrower key.
	days   store.Bucket[[]byte]
	js     jetstream.JetStream // its own, so Flush waits for touches only
	prefix string              // $KV.<bucket>.

	mu      sync.Mutex
	touched map[string]string // borrower token -> day last written by this instance
}

// OpenIndex binds the retention bucket (store.Setup must have run).
func OpenIndex(ctx context.Context, js jetstream.JetStream) (*Index, error) {
	kv, err := js.KeyValue(ctx, store.RetentionBucket)
	if err != nil {
		return nil, fmt.Errorf("retention: bucket %s: %w", store.RetentionBucket, err)
	}
	x := &Index{days: store.NewBucket[[]byte](js, kv), prefix: store.KVSubject(store.RetentionBucket, ""), touched: map[string]string{}}
	// A touch the server refused or never acknowledged is forgotten, so
	// that the borrower's next record writes it again.
	x.js, err = jetstream.New(js.Conn(), jetstream.WithPublishAsyncTimeout(touchTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, _ error) { x.forget(m.Subject) }))
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return x, nil
}

// day is the UTC day of t.
func day(t time.Time) string { return t.UTC().Format(dayLayout) }

// Touch records that borrowerID has a record at at. It writes the
// borrower's day without waiting (one pipelined KV write) and at most once
// a day per instance, so it costs the record's writer nothing. A lost
// write is harmless: a purge run looks at the borrower's newest record
// before it deletes anything, and an index entry that is missing only keeps
// the borrower's records longer.
func (x *Index) Touch(borrowerID string, at time.Time) {
	tok, d := store.Token(borrowerID), day(at)
	x.mu.Lock()
	if have, ok := x.touched[tok]; ok && have >= d {
		x.mu.Unlock()
		return
	}
	if len(x.touched) >= maxTouched {
		x.touched = map[string]string{}
	}
	x.touched[tok] = d
	x.mu.Unlock()
	subject := x.prefix + borrowerPrefix + tok
	if _, err := x.js.PublishAsync(subject, []byte(d)); err != nil {
		x.forget(subject)
	}
}

// forget drops what this instance remembers of the borrower of an index
// subject whose write failed.
func (x *Index) forget(subject string) {
	tok := subject[strings.LastIndexByte(subject, '.')+1:]
	x.mu.Lock()
	delete(x.touched, tok)
	x.mu.Unlock()
}

// setBatch is how many index writes set has in flight at most.
const setBatch = 512

// set points borrowers (token -> day) at their days and waits until every
// write is stored: pipelined, a batch at a time.
func (x *Index) set(ctx context.Context, days map[string]string) error {
	keys := make([][2]string, 0, len(days))
	for tok, d := range days {
		keys = append(keys, [2]string{borrowerPrefix + tok, d})
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), setBatch)]
		keys = keys[len(batch):]
		futures := make([]jetstream.PubAckFuture, 0, len(batch))
		for _, kv := range batch {
			f, err := x.js.PublishAsync(x.prefix+kv[0], []byte(kv[1]))
			if err != nil {
				return fmt.Errorf("retention: index %s: %w", kv[0], err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("retention: index %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// Flush waits until every touch written so far is stored (or lost).
func (x *Index) Flush(ctx context.Context) error {
	select {
	case <-x.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LastActivity is the day (YYYY-MM-DD, UTC) of the borrower's last record
// as the index has it.
func (x *Index) LastActivity(ctx context.Context, borrowerID string) (string, bool, error) {
	d, found, err := x.lastDay(ctx, store.Token(borrowerID))
	return d, found, err
}

// lastDay reads a borrower's day.
func (x *Index) lastDay(ctx context.Context, tok string) (string, bool, error) {
	d, _, err := x.days.Get(ctx, borrowerPrefix+tok)
	if store.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("retention: read index of %s: %w", tok, err)
	}
	return string(d), true, nil
}
