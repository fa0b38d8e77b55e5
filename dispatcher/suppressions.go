package dispatcher

import (
	"context"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
)

// optOut applies borrower.opted_out, on one channel or on all.
func (in *Intake) optOut(ctx context.Context, d OptOutData, by string) error {
	chans := []domain.Channel{domain.Channel(d.Channel)}
	if d.Channel == "all" {
		chans = domain.Channels
	}
	now := in.clock.Now()
	return in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		for _, ch := range chans {
			s.OptOuts = addOptOut(s.OptOuts, domain.OptOut{Channel: ch, Source: "event", At: now})
		}
		return nil
	})
}

// cease applies borrower.ceased: every collection message stops.
func (in *Intake) cease(ctx context.Context, d CeasedData, by string) error {
	now := in.clock.Now()
	return in.updateSuppressions(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		if s.Ceased == nil {
			s.Ceased = &now
		}
		return nil
	})
}

// updateSuppressions is the one way intake changes a borrower's
// suppressions: compare-and-set, with expired mutes pruned first so that
// the record holds only what is in force. Then what changed is recorded
// in the suppression history, made by by (a token name, an event, a
// provider).
//
// The history is written after the suppression, which is what stops
// sends and must not wait on it. A history write that still fails after
// retries is logged, and the suppression stands: retrying the whole change
// would find nothing left to record.
func (in *Intake) updateSuppressions(ctx context.Context, borrowerID, by string, change func(*domain.Suppressions) error) error {
	var before, after domain.Suppressions
	now := in.clock.Now()
	_, err := in.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		before = s.Clone()
		*s = s.Active(now)
		if err := change(s); err != nil {
			return err
		}
		after = s.Clone()
		return nil
	})
	if err != nil || in.history == nil {
		return err
	}
	changes := domain.SuppressionChanges(before, after, now, by)
	if len(changes) == 0 {
		return nil
	}
	if err := store.Retry(ctx, func(ctx context.Context) error { return in.history.RecordSuppressionChanges(ctx, changes) }); err != nil {
		in.log.WithError(err).WithField(logging.FieldBorrower, borrowerID).Error("suppression changed but its history was not recorded")
	}
	return nil
}

// maxAddressOptOuts bounds a channel's opt-outs of single addresses; past
// it they fold into one opt-out of the whole channel, which stops at least
// as much, so an opt-out is never refused and the record stays bounded.
const maxAddressOptOuts = 32

func addOptOut(list []domain.OptOut, o domain.OptOut) []domain.OptOut {
	addresses := 0
	for _, have := range list {
		if have.Channel != o.Channel {
			continue
		}
		if have.Address == o.Address {
			return list
		}
		if have.Address != "" {
			addresses++
		}
	}
	if o.Address != "" && addresses >= maxAddressOptOuts {
		folded := domain.OptOut{Channel: o.Channel, Source: o.Source + " (folded: too many opted-out addresses)", At: o.At}
		return addOptOut(list, folded)
	}
	return append(list, o)
}
