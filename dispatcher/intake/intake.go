package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/store"
)

// Reindexer is told when something that decides a subject's schedule
// changed; the scheduler recomputes it at once (its sweep's leader is
// nudged) or, should the nudge be lost, at its next scheduled sweep. kind
// is "loan" or "agr".
type Reindexer interface {
	Reindex(ctx context.Context, kind, id string) error
}

// Subject kinds for Reindexer.
const (
	KindLoan      = "loan"
	KindAgreement = "agr"
)

// Intake validates and applies events. Applying an event is idempotent and
// keyed by the event id, so a repeated id is acknowledged and applied once.
// Every change of stored state is a compare-and-set on what was read, so
// concurrent events (on one instance or several) never lose each other's
// changes.
type Intake struct {
	state        *store.State
	eventIDs     jetstream.KeyValue
	reindex      Reindexer
	fence        *suppress.Fence
	suppressions *suppress.Writer
	clock        clock.Clock
	log          *logrus.Entry
	agreement    string // policy agreement.activated starts
	observe      func(typ, result string)
}

// Options configure an Intake.
type Options struct {
	State    *store.State
	EventIDs jetstream.KeyValue
	Reindex  Reindexer
	Fence    *suppress.Fence
	// Suppressions writes every change intake makes to a borrower's
	// suppressions, with its history.
	Suppressions *suppress.Writer
	Clock        clock.Clock
	Log          *logrus.Entry
	// AgreementPolicy is the policy an activated agreement's plan follows.
	AgreementPolicy string
	// Observe, if set, counts applied events by type and result.
	Observe func(typ, result string)
}

// New returns an Intake.
func New(o Options) *Intake {
	if o.Observe == nil {
		o.Observe = func(string, string) {}
	}
	return &Intake{state: o.State, eventIDs: o.EventIDs, reindex: o.Reindex, fence: o.Fence, suppressions: o.Suppressions,
		clock: o.Clock, log: o.Log, agreement: o.AgreementPolicy, observe: o.Observe}
}

// ErrNotFound is a reference to a borrower, loan or agreement forbear does
// not know.
var ErrNotFound = errors.New("not found")

// Apply applies events in order. It returns once they are applied and, when
// any of them created a suppression, once that suppression is held (see
// package suppress): the caller's acknowledgement is then safe.
//
// When event i fails, the events after it are not applied; the error, a
// *BatchError with Index i, is returned only after holding for the
// suppressions among the events before it, since those were applied and
// the answer acknowledges them (and for event i itself when it suppresses).
func (in *Intake) Apply(ctx context.Context, events []Event) error {
	suppressed := false
	for i, ev := range events {
		var s bool
		// Applying is idempotent, so a store request lost while a stream
		// elects a leader is simply tried again (see store.Retry): the
		// caller is answered soon after the cluster is whole again.
		err := store.Retry(ctx, func(ctx context.Context) (err error) {
			s, err = in.apply(ctx, ev)
			return err
		})
		if err != nil {
			in.observe(ev.Type, "error")
			// A suppressing event that failed may have written its
			// suppression before the failure: it is held for too.
			if suppressed || suppresses(ev.Type) {
				if herr := in.fence.Hold(ctx); herr != nil {
					return herr
				}
			}
			return atIndex(i, len(events), i, err)
		}
		suppressed = suppressed || s
	}
	if suppressed {
		return in.fence.Hold(ctx)
	}
	return nil
}

// suppresses reports whether applying an event of type typ adds a
// suppression, so that its acknowledgement must be held.
func suppresses(typ string) bool {
	switch typ {
	case TypeAgreementActivated, TypeBorrowerOptedOut, TypeBorrowerCeased:
		return true
	}
	return false
}

// apply applies one event unless its id was applied before. It reports
// whether the caller must hold its acknowledgement: the event added a
// suppression, or it repeats one that did. A repeat (a retry after a
// timeout, say) may arrive while the original is still in its hold; held
// itself, its answer cannot come before the original's.
func (in *Intake) apply(ctx context.Context, ev Event) (bool, error) {
	key := store.Token(ev.ID)
	if e, err := in.eventIDs.Get(ctx, key); err == nil {
		in.observe(ev.Type, "duplicate")
		return suppresses(string(e.Value())) || suppresses(ev.Type), nil
	} else if !store.IsNotFound(err) {
		return false, fmt.Errorf("intake: check event id: %w", err)
	}
	data, err := ev.decode()
	if err != nil {
		return false, err
	}
	by := eventActor(ev)
	switch d := data.(type) {
	case BorrowerData:
		err = in.upsertBorrower(ctx, d)
	case LoanData:
		err = in.updateLoan(ctx, d)
	case PaymentData:
		err = in.payment(ctx, d)
	case AgreementData:
		err = in.activate(ctx, d, by)
	case AgreementEndData:
		err = in.endAgreement(ctx, ev.Type, d, by)
	case OptOutData:
		err = in.optOut(ctx, d, by)
	case CeasedData:
		err = in.cease(ctx, d, by)
	case ConsentData:
		err = in.consent(ctx, d, ev.Time)
	}
	if err != nil {
		return false, err
	}
	// Marked after applying: a crash in between re-applies, and every
	// handler above is idempotent. A concurrent repeat may have marked it
	// already; the first marker stands.
	if _, err := in.eventIDs.Create(ctx, key, []byte(ev.Type)); err != nil && !store.IsWrongSequence(err) {
		return false, fmt.Errorf("intake: mark event applied: %w", err)
	}
	in.observe(ev.Type, "applied")
	in.log.WithFields(logrus.Fields{"event_id": ev.ID, "type": ev.Type}).Debug("event applied")
	return suppresses(ev.Type), nil
}

// eventActor names an event as the author of the changes it makes, in the
// suppression history.
func eventActor(ev Event) string { return "event " + ev.ID + " from " + ev.Source }

func notFound(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeNotFound, Field: field, Message: fmt.Sprintf(format, args...)}
}

func limitReached(field, format string, args ...any) *FieldError {
	return &FieldError{Code: CodeLimitReached, Field: field, Message: fmt.Sprintf(format, args...)}
}

// reindexLoans tells the scheduler that each of loans changed.
func (in *Intake) reindexLoans(ctx context.Context, loans []string) error {
	for _, l := range loans {
		if err := in.reindex.Reindex(ctx, KindLoan, l); err != nil {
			return err
		}
	}
	return nil
}
