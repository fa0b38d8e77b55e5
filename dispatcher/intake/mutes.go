package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// MuteRequest is the body of POST /v1/borrowers/{id}/mutes.
type MuteRequest struct {
	Channels []domain.Channel `json:"channels,omitempty"`
	Until    *time.Time       `json:"until,omitempty"`
	Reason   string           `json:"reason"`
}

// validate checks a mute request at now.
func (req MuteRequest) validate(now time.Time) error {
	if err := checkChannels("channels", req.Channels); err != nil {
		return err
	}
	if req.Until != nil {
		if !req.Until.After(now) {
			return invalid("until", "must be in the future")
		}
		if req.Until.After(now.Add(maxMuteSpan)) {
			return invalid("until", "is more than ten years ahead; leave until out for a mute that lasts until deleted")
		}
	}
	if strings.TrimSpace(req.Reason) == "" {
		return invalid("reason", "is required (it is shown in the audit trail)")
	}
	return checkText("reason", req.Reason, MaxReasonBytes, true)
}

// AddMute suppresses some or all channels of a borrower. It returns once the
// mute is fenced: from then on no reminder in its scope starts a provider
// call on any instance. A borrower has at most MaxActiveMutes mutes in
// force; expired ones are dropped at every write.
func (in *Intake) AddMute(ctx context.Context, borrowerID string, req MuteRequest, by string) (domain.Mute, error) {
	now := in.clock.Now()
	if err := req.validate(now); err != nil {
		return domain.Mute{}, err
	}
	m := domain.Mute{ID: newID("mute"), Channels: req.Channels, Until: req.Until, Reason: req.Reason, By: by, Created: now}
	// Tried again while a stream elects a leader (see store.Retry); an
	// attempt whose write landed unseen leaves the mute there once, since
	// it is added only if its id is not.
	if err := store.Retry(ctx, func(ctx context.Context) error {
		if _, err := in.state.Borrower(ctx, borrowerID); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return in.suppressions.Update(ctx, borrowerID, by, func(s *domain.Suppressions) error {
			if slices.ContainsFunc(s.Mutes, func(have domain.Mute) bool { return have.ID == m.ID }) {
				return nil
			}
			if len(s.Mutes) >= MaxActiveMutes {
				return limitReached("", "borrower %s already has %d mutes in force, the most forbear keeps; lift one first",
					short(borrowerID), len(s.Mutes))
			}
			s.Mutes = append(s.Mutes, m)
			return nil
		})
	}); err != nil {
		return domain.Mute{}, err
	}
	if err := in.fence.Hold(ctx); err != nil {
		return domain.Mute{}, err
	}
	return m, nil
}

// DeleteMute lifts a mute; reminders resume at the next sweep. by (a token
// name) is who lifted it, for the suppression history.
func (in *Intake) DeleteMute(ctx context.Context, borrowerID, muteID, by string) error {
	b, err := in.state.Borrower(ctx, borrowerID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	found := false
	if err := in.suppressions.Update(ctx, borrowerID, by, func(s *domain.Suppressions) error {
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
	// Adding an opt-out twice keeps one, so a write lost while a stream
	// elects a leader is simply tried again (see store.Retry).
	return store.Retry(ctx, func(ctx context.Context) error {
		return in.suppressions.Update(ctx, borrowerID, o.Source, func(s *domain.Suppressions) error {
			s.OptOuts = addOptOut(s.OptOuts, o)
			return nil
		})
	})
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

// OptOutAllNow is OptOutNow for several borrowers (those who share a number
// that replied STOP, say): it returns once every opt-out is fenced, with one
// hold for all of them. No borrowers, no hold.
func (in *Intake) OptOutAllNow(ctx context.Context, borrowerIDs []string, o domain.OptOut) error {
	for _, id := range borrowerIDs {
		if err := in.AddOptOut(ctx, id, o); err != nil {
			return err
		}
	}
	if len(borrowerIDs) == 0 {
		return nil
	}
	return in.fence.Hold(ctx)
}

func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
