package dispatcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/store"
)

// MuteRequest is the body of POST /v1/borrowers/{id}/mutes.
type MuteRequest struct {
	Channels []domain.Channel `json:"channels,omitempty"`
	Until    *time.Time       `json:"until,omitempty"`
	Reason   string           `json:"reason"`
}

// AddMute suppresses some or all channels of a borrower. It returns once the
// mute is fenced: from then on no reminder in its scope starts a provider
// call on any instance.
func (in *Intake) AddMute(ctx context.Context, borrowerID string, req MuteRequest, by string) (domain.Mute, error) {
	if _, err := in.state.Borrower(ctx, borrowerID); errors.Is(err, store.ErrNotFound) {
		return domain.Mute{}, ErrNotFound
	} else if err != nil {
		return domain.Mute{}, err
	}
	for i, ch := range req.Channels {
		if !ch.Valid() {
			return domain.Mute{}, invalid(fmt.Sprintf("channels[%d]", i), "must be sms, voice, email or inapp, got %q", ch)
		}
	}
	now := in.clock.Now()
	if req.Until != nil && !req.Until.After(now) {
		return domain.Mute{}, invalid("until", "must be in the future")
	}
	if req.Reason == "" {
		return domain.Mute{}, invalid("reason", "is required (it is shown in the audit trail)")
	}
	m := domain.Mute{ID: newID("mute"), Channels: req.Channels, Until: req.Until, Reason: req.Reason, By: by, Created: now}
	if _, err := in.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		s.Mutes = append(s.Mutes, m)
		return nil
	}); err != nil {
		return domain.Mute{}, err
	}
	if err := in.fence.Hold(ctx); err != nil {
		return domain.Mute{}, err
	}
	return m, nil
}

// DeleteMute lifts a mute; reminders resume at the next sweep.
func (in *Intake) DeleteMute(ctx context.Context, borrowerID, muteID string) error {
	b, err := in.state.Borrower(ctx, borrowerID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	found := false
	if _, err := in.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		n := len(s.Mutes)
		s.Mutes = slices.DeleteFunc(s.Mutes, func(m domain.Mute) bool { return m.ID == muteID })
		found = len(s.Mutes) < n
		return nil
	}); err != nil {
		return err
	}
	if !found {
		return ErrNotFound
	}
	return in.reindexLoans(ctx, b.LoanIDs)
}

// AddOptOut records that a borrower's address opted out of a channel
// (provider report such as Twilio 21610, inbound STOP, unsubscribe link).
func (in *Intake) AddOptOut(ctx context.Context, borrowerID string, o domain.OptOut) error {
	_, err := in.state.UpdateSuppressions(ctx, borrowerID, func(s *domain.Suppressions) error {
		s.OptOuts = addOptOut(s.OptOuts, o)
		return nil
	})
	return err
}

// OptOutNow is AddOptOut for a request the borrower is waiting on (an
// unsubscribe click): it returns once the opt-out is fenced, so nothing in
// its scope starts after the answer.
func (in *Intake) OptOutNow(ctx context.Context, borrowerID string, o domain.OptOut) error {
	if err := in.AddOptOut(ctx, borrowerID, o); err != nil {
		return err
	}
	return in.fence.Hold(ctx)
}

func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
