package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/store"
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
// Without a borrower it reads backwards in windows of stream sequences that
// grow fourfold, so the newest page of a large outbox costs about as much
// as the page itself; one borrower's entries are read in a single pass.
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
	filter := store.OutboxPrefix + chTok + "." + bTok

	s, err := js.Stream(ctx, store.OutboxStream)
	if err != nil {
		return nil, fmt.Errorf("sandbox: outbox stream: %w", err)
	}
	state := s.CachedInfo().State
	out := []Entry{}
	if state.Msgs == 0 {
		return out, nil
	}
	if borrowerID != "" {
		return listAll(ctx, js, []string{filter}, limit)
	}
	first, stop := state.FirstSeq, state.LastSeq+1
	window := uint64(2 * limit)
	for {
		start := first
		if stop-first > window {
			start = stop - window
		}
		var batch []Entry
		err := read(ctx, js, []string{filter}, start, stop, func(m jetstream.Msg, seq uint64) bool {
			var e Entry
			if json.Unmarshal(m.Data(), &e) == nil {
				e.ProviderRef = ref(seq)
				batch = append(batch, e)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("sandbox: list outbox: %w", err)
		}
		for i := len(batch) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, batch[i])
		}
		if len(out) >= limit || start <= first {
			return out, nil
		}
		stop = start
		window *= 4
	}
}

// listAll reads every match in one pass and keeps the newest limit. One
// borrower's outbox is small, and one consumer over it costs less than the
// several that growing windows would create (measured: about half the
// time on a 100k-message outbox).
func listAll(ctx context.Context, js jetstream.JetStream, filters []string, limit int) ([]Entry, error) {
	var all []Entry
	err := read(ctx, js, filters, 0, 0, func(m jetstream.Msg, seq uint64) bool {
		var e Entry
		if json.Unmarshal(m.Data(), &e) == nil {
			e.ProviderRef = ref(seq)
			if len(all) == 2*limit { // bound memory, keep the newest
				all = append(all[:0], all[limit:]...)
			}
			all = append(all, e)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: list outbox: %w", err)
	}
	out := make([]Entry, 0, min(len(all), limit))
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, all[i])
	}
	return out, nil
}

// read calls fn for each outbox message matching filters with stream
// sequence in [start, stop), oldest first, until fn returns false. start 0
// means from the beginning, stop 0 means to the end.
func read(ctx context.Context, js jetstream.JetStream, filters []string, start, stop uint64,
	fn func(m jetstream.Msg, seq uint64) bool) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    filters,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: 30 * time.Second,
	}
	if start > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	}
	cons, err := js.OrderedConsumer(ctx, store.OutboxStream, cfg)
	if err != nil {
		return err
	}
	defer func() {
		// Reads are short and frequent; do not leave one consumer per
		// request on the server until the inactivity threshold.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = js.DeleteConsumer(dctx, store.OutboxStream, cons.CachedInfo().Name)
	}()

	// Asking for no more than is pending means Fetch never waits for
	// messages that will not come.
	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		b, err := cons.Fetch(int(min(pending, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range b.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			seq := md.Sequence.Stream
			if stop > 0 && seq >= stop {
				return nil
			}
			if !fn(m, seq) {
				return nil
			}
			pending = md.NumPending
		}
		if err := b.Error(); err != nil {
			return err
		}
		if got == 0 {
			// Pending counted messages that have since aged out.
			return nil
		}
	}
	return nil
}
