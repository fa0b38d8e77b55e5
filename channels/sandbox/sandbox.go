package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/ground/store"
)

// Entry is one outbox message, as stored and as GET /v1/outbox lists it.
type Entry struct {
	// ID is the reminder id.
	ID         string         `json:"id"`
	BorrowerID string         `json:"borrower_id"`
	LoanID     string         `json:"loan_id"`
	Channel    domain.Channel `json:"channel"`
	To         string         `json:"to"`
	Subject    string         `json:"subject,omitempty"`
	Text       string         `json:"text"`
	At         time.Time      `json:"at"`
	// ProviderRef is the reference Send returned ("outbox-<seq>"); filled
	// in when reading, not stored.
	ProviderRef string `json:"provider_ref,omitempty"`
}

// RefPrefix starts every sandbox provider reference; the rest is the
// outbox stream sequence.
const RefPrefix = "outbox-"

// Option changes a Provider.
type Option func(*Provider)

// WithClock sets the clock that stamps entries (default wall clock).
func WithClock(c clock.Clock) Option { return func(p *Provider) { p.clock = c } }

// Provider publishes a channel's messages to the outbox. It is safe for
// concurrent use; concurrent sends pipeline on one connection.
type Provider struct {
	js      jetstream.JetStream
	read    *store.Reader
	channel domain.Channel
	clock   clock.Clock
}

var (
	_ channels.Provider = (*Provider)(nil)
	_ channels.Looker   = (*Provider)(nil)
)

// New returns the sandbox provider of channel.
func New(js jetstream.JetStream, channel domain.Channel, opts ...Option) *Provider {
	p := &Provider{js: js, read: store.NewReader(js), channel: channel, clock: clock.Real{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ref(seq uint64) string { return RefPrefix + strconv.FormatUint(seq, 10) }

// Send publishes msg to the outbox and waits for the stream to store it.
func (p *Provider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if msg.ReminderID == "" || msg.BorrowerID == "" {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Code: "invalid_message",
			Err: errors.New("sandbox: message needs a reminder id and a borrower id")}
	}
	data, err := json.Marshal(Entry{
		ID: msg.ReminderID, BorrowerID: msg.BorrowerID, LoanID: msg.LoanID, Channel: p.channel,
		To: msg.To, Subject: msg.Subject, Text: msg.Text, At: p.clock.Now().UTC(),
	})
	if err != nil {
		return channels.Result{}, fmt.Errorf("sandbox: encode: %w", err)
	}
	if err := channels.BeginCall(ctx); err != nil {
		return channels.Result{}, err
	}
	// An async publish plus a wait for its own ack lets many concurrent
	// sends share the connection instead of paying a round trip each in
	// turn, which is what a synchronous publish would cost.
	f, err := p.js.PublishAsync(store.OutboxSubject(string(p.channel), msg.BorrowerID), data,
		jetstream.WithMsgID(msg.ReminderID), jetstream.WithExpectStream(store.OutboxStream))
	if err != nil {
		return channels.Result{}, &channels.Error{Kind: channels.Retry, Err: fmt.Errorf("sandbox: publish: %w", err)}
	}
	select {
	case ack := <-f.Ok():
		// A duplicate ack carries the first message's sequence, so a resend
		// reports the same reference.
		return channels.Result{ProviderRef: ref(ack.Sequence), Status: domain.Delivered}, nil
	case err := <-f.Err():
		return channels.Result{}, &channels.Error{Kind: channels.Retry, Err: fmt.Errorf("sandbox: publish: %w", err)}
	case <-ctx.Done():
		// The message may still be stored; the msg id dedups the retry.
		return channels.Result{}, fmt.Errorf("sandbox: waiting for ack: %w", ctx.Err())
	}
}

// maxLookup bounds how many of the borrower's newest outbox entries of the
// channel Lookup reads: a redelivered reminder is among the recent ones.
const maxLookup = 1000

// Lookup reads the borrower's outbox subject for the reminder, so a
// reminder redelivered after the dedup window has passed is not stored
// twice either.
//
// Any replica may answer (store.Reader): an entry a lagging replica lacks
// was stored a moment ago, within the dedup window, where the server drops
// the resend itself.
func (p *Provider) Lookup(ctx context.Context, msg channels.Message) (channels.Result, bool, error) {
	msgs, err := p.read.Last(ctx, store.OutboxStream, store.OutboxSubject(string(p.channel), msg.BorrowerID), maxLookup)
	if err != nil {
		return channels.Result{}, false, fmt.Errorf("sandbox: lookup: %w", err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Header.Get(jetstream.MsgIDHeader) == msg.ReminderID {
			return channels.Result{ProviderRef: ref(msgs[i].Sequence), Status: domain.Delivered}, true, nil
		}
	}
	return channels.Result{}, false, nil
}
