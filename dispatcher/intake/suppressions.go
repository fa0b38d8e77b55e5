package intake

import (
	"context"

	"github.com/forbear/forbear/internal/ground/domain"
)

// optOut applies borrower.opted_out, on one channel or on all.
func (in *Intake) optOut(ctx context.Context, d OptOutData, by string) error {
	chans := []domain.Channel{domain.Channel(d.Channel)}
	if d.Channel == "all" {
		chans = domain.Channels
	}
	now := in.clock.Now()
	return in.suppressions.Update(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		for _, ch := range chans {
			s.OptOuts = addOptOut(s.OptOuts, domain.OptOut{Channel: ch, Source: "event", At: now})
		}
		return nil
	})
}

// cease applies borrower.ceased: every collection message stops.
func (in *Intake) cease(ctx context.Context, d CeasedData, by string) error {
	now := in.clock.Now()
	return in.suppressions.Update(ctx, d.BorrowerID, by, func(s *domain.Suppressions) error {
		if s.Ceased == nil {
			s.Ceased = &now
		}
		return nil
	})
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
