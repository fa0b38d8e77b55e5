package suppress

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// History keeps every change of borrowers' suppressions
// (audit.Recorder does, beside the delivery records).
type History interface {
	RecordSuppressionChanges(ctx context.Context, changes []domain.SuppressionChange) error
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	State *store.State
	Clock clock.Clock
	Log   *logrus.Entry
	// History, if set, records every change of a borrower's suppressions
	// with who made it.
	History History
}

// Writer changes borrowers' suppressions and records each change in the
// suppression history.
type Writer struct {
	state   *store.State
	clock   clock.Clock
	log     *logrus.Entry
	history History
}

// NewWriter returns a Writer.
func NewWriter(o WriterOptions) *Writer {
	return &Writer{state: o.State, clock: o.Clock, log: o.Log, history: o.History}
}

// Update is the one way to change a borrower's suppressions:
// compare-and-set, with expired mutes pruned first so that the record
// holds only what is in force. Then what changed is recorded in the
// suppression history, made by by (a token name, an event, a provider).
//
// The history is written after the suppression, which is what stops
// sends and must not wait on it. A history write that still fails after
// retries is logged, and the suppression stands: retrying the whole change
// would find nothing left to record.
func (w *Writer) Update(ctx context.Context, borrowerID, by string, change func(*domain.Suppressions) error) error {
	var before, after domain.Suppressions
	now := w.clock.Now()
	_, err := w.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		before = s.Clone()
		*s = s.Active(now)
		if err := change(s); err != nil {
			return err
		}
		after = s.Clone()
		return nil
	})
	if err != nil || w.history == nil {
		return err
	}
	changes := domain.SuppressionChanges(before, after, now, by)
	if len(changes) == 0 {
		return nil
	}
	if err := store.Retry(ctx, func(ctx context.Context) error { return w.history.RecordSuppressionChanges(ctx, changes) }); err != nil {
		w.log.WithError(err).WithField(logging.FieldBorrower, borrowerID).Error("suppression changed but its history was not recorded")
	}
	return nil
}
