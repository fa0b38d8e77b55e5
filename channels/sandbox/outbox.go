package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Limits of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrUnknownChannel is returned by List for a channel filter that is not
// one of domain.Channels (the HTTP layer answers 400).
var ErrUnknownChannel = errors.New("sandbox: unknown channel")

// List returns outbox entries, newest first, at most limit of them
// (DefaultLimit when limit <= 0, never more than MaxLimit). channel and
// borrowerID filter; either may be empty for "any".
//
// It reads the outbox stream by subject (store.Reader), with no consumer,
// and costs about the same however large the outbox. Any replica may
// answer: this is a view for people and tests, nothing is decided on it.
func List(ctx context.Context, js jetstream.JetStream, channel, borrowerID string, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	chTok, bTok := "*", "*"
	if channel != "" {
		if !domain.Channel(channel).Valid() {
			return nil, fmt.Errorf("%w %q", ErrUnknownChannel, channel)
		}
		chTok = channel
	}
	if borrowerID != "" {
		bTok = store.Token(borrowerID)
	}
	msgs, err := store.NewReader(js).Last(ctx, store.OutboxStream, store.OutboxPrefix+chTok+"."+bTok, limit)
	if err != nil {
		return nil, fmt.Errorf("sandbox: list outbox: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		var e Entry
		if json.Unmarshal(msgs[i].Data, &e) == nil {
			e.ProviderRef = ref(msgs[i].Sequence)
			out = append(out, e)
		}
	}
	return out, nil
}
