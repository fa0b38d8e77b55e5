package dispatcher

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Ledger is the durable contact ledger: per borrower, the recent contact
// attempts the compliance rules count (caps, conversations). It lives in
// JetStream KV, so caps hold across restarts and instances, and every
// change is a compare-and-set on the borrower's key, so two instances can
// never both take the last place under a cap.
//
// A reservation is written before the provider call, which also makes it
// the attempt record a redelivered reminder looks at before resending.
type Ledger struct {
	kv    jetstream.KeyValue
	rules compliance.Rules
	clock clock.Clock
}

// NewLedger binds the ledger bucket.
func NewLedger(ctx context.Context, js jetstream.JetStream, rules compliance.Rules, clk clock.Clock) (*Ledger, error) {
	kv, err := store.OpenBucket(ctx, js, store.LedgerBucket)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return &Ledger{kv: kv, rules: rules, clock: clk}, nil
}

// Rules are the compiled compliance rules the ledger decides with.
func (l *Ledger) Rules() compliance.Rules { return l.rules }

// Outcomes recorded on attempts.
const (
	OutcomePending  = "pending"
	OutcomeSent     = "sent"
	OutcomeFailed   = "failed"
	OutcomeCanceled = "canceled"
)

// Reserve decides rem against the rules and, when it may go, records the
// attempt as pending, atomically with the decision.
func (l *Ledger) Reserve(ctx context.Context, rem domain.Reminder, b domain.Borrower) (compliance.Decision, error) {
	var d compliance.Decision
	err := l.update(ctx, rem.BorrowerID, func(led *compliance.Ledger, now time.Time) bool {
		// A retried reminder replaces its own earlier attempt rather than
		// counting twice.
		led.Attempts = slices.DeleteFunc(led.Attempts, func(a compliance.Attempt) bool { return a.ID == rem.ID })
		d = l.rules.Check(now, rem, b, *led)
		if !d.Allowed {
			return false
		}
		led.Attempts = append(led.Attempts, compliance.Attempt{ID: rem.ID, Channel: rem.Channel, LoanID: rem.LoanID, At: now, Outcome: OutcomePending, Started: time.Now()})
		return true
	})
	return d, err
}

// Outcome records how an attempt ended (the worker after the provider call,
// or a Twilio status callback). An unknown attempt is ignored: it has been
// pruned, or was never reserved. A connected attempt is final: a
// conversation took place, and nothing reported after it (a zero-length
// completion, a no-answer, the worker's own note) may erase it.
func (l *Ledger) Outcome(ctx context.Context, borrowerID, attemptID, outcome string) error {
	return l.update(ctx, borrowerID, func(led *compliance.Ledger, _ time.Time) bool {
		for i := range led.Attempts {
			if led.Attempts[i].ID == attemptID {
				if led.Attempts[i].Outcome == outcome || led.Attempts[i].Outcome == compliance.OutcomeConnected {
					return false
				}
				led.Attempts[i].Outcome = outcome
				return true
			}
		}
		return false
	})
}

// Attempt returns the recorded attempt of a reminder.
func (l *Ledger) Attempt(ctx context.Context, borrowerID, id string) (compliance.Attempt, bool, error) {
	led, _, err := l.read(ctx, borrowerID)
	if err != nil {
		return compliance.Attempt{}, false, err
	}
	for _, a := range led.Attempts {
		if a.ID == id {
			return a, true, nil
		}
	}
	return compliance.Attempt{}, false, nil
}

// Read returns a borrower's ledger (the borrower page shows it).
func (l *Ledger) Read(ctx context.Context, borrowerID string) (compliance.Ledger, error) {
	led, _, err := l.read(ctx, borrowerID)
	return led, err
}

func (l *Ledger) read(ctx context.Context, borrowerID string) (compliance.Ledger, uint64, error) {
	var led compliance.Ledger
	e, err := l.kv.Get(ctx, store.Token(borrowerID))
	if store.IsNotFound(err) {
		return led, 0, nil
	}
	if err != nil {
		return led, 0, fmt.Errorf("ledger: read %q: %w", borrowerID, err)
	}
	if err := json.Unmarshal(e.Value(), &led); err != nil {
		return led, 0, fmt.Errorf("ledger: decode %q: %w", borrowerID, err)
	}
	return led, e.Revision(), nil
}

// attemptKeep is the least time an attempt stays in the ledger, however
// little history the rules need: an attempt is also the record that a
// redelivered reminder looks at before resending (Worker.alreadySent), so
// it must outlive any redelivery of its reminder. A reminder reserved again
// renews its attempt.
const attemptKeep = 24 * time.Hour

// update applies change with compare-and-set (see store.UpdateJSON),
// pruning old attempts first; change returns false to write nothing.
func (l *Ledger) update(ctx context.Context, borrowerID string, change func(*compliance.Ledger, time.Time) bool) error {
	keep := max(l.rules.Keep(), attemptKeep)
	_, err := store.UpdateJSON(ctx, l.kv, store.Token(borrowerID), func(led *compliance.Ledger) (bool, error) {
		now := l.clock.Now()
		*led = led.Prune(now, keep)
		return change(led, now), nil
	})
	if err != nil {
		return fmt.Errorf("ledger: %q: %w", borrowerID, err)
	}
	return nil
}
