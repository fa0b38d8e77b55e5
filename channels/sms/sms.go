package sms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/twilioapi"
)

// configKey is where the provider's settings live in the config file.
const configKey = "providers.sms"

// LookbackWindow is how far back Lookup searches for an earlier copy of a
// message. It covers any redelivery delay while staying shorter than the
// shortest repeat of a policy step, whose identical text must go out again.
const LookbackWindow = 24 * time.Hour

// lookupLimit bounds how many recent messages to one number Lookup reads.
const lookupLimit = 200

// Options are the provider's settings that do not come from the config file.
type Options struct {
	// HTTPClient supplies the shared transport and per-request timeout;
	// nil uses a private default.
	HTTPClient *http.Client
	// StatusCallback, when set, is the URL Twilio posts delivery status to.
	StatusCallback string
}

// Provider sends SMS through Twilio. It is safe for concurrent use.
type Provider struct {
	api      *twilioapi.Client
	callback string
}

var (
	_ channels.Provider = (*Provider)(nil)
	_ channels.Looker   = (*Provider)(nil)
)

// New validates cfg (providers.sms) and returns a provider.
func New(cfg config.Provider, opts Options) (*Provider, error) {
	api, err := twilioapi.New(configKey, cfg, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	return &Provider{api: api, callback: opts.StatusCallback}, nil
}

// Send creates a Twilio message from the configured sender to msg.To with
// msg.Text. The request starts only if channels.BeginCall(ctx) allows it.
func (p *Provider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if msg.To == "" || msg.Text == "" {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Err: errors.New("sms: message has no recipient or no text")}
	}
	params := (&openapi.CreateMessageParams{}).SetTo(msg.To).SetFrom(p.api.From()).SetBody(msg.Text)
	// A per-message callback (which names the reminder) beats the
	// provider-wide one.
	if cb := cmp.Or(msg.StatusCallback, p.callback); cb != "" {
		params.SetStatusCallback(cb)
	}
	sid, err := p.api.Create(ctx, "message", func(api *openapi.ApiService) (*string, error) {
		m, err := api.CreateMessage(params)
		if err != nil {
			return nil, err
		}
		return m.Sid, nil
	})
	if err != nil {
		return channels.Result{}, fmt.Errorf("sms send: %w", err)
	}
	return channels.Result{ProviderRef: sid, Status: domain.Sent}, nil
}

// Lookup reports whether Twilio has a message with msg.Text from the
// configured sender to msg.To, and its SID if so: the message of a worker
// that died after Twilio accepted it and before it recorded the result.
//
// With msg.AttemptedAt (the attempt reserved just before the call, on the
// wall clock) only messages created since the attempt, less
// channels.ClockSkew, count: the same text sent for an earlier occurrence
// of a repeating step is not this reminder's. The newest messages are read
// without a date filter and matched on their creation time, because Twilio
// dates a message "sent" only once it leaves its queue. Without an attempt
// time, a message within LookbackWindow counts.
func (p *Provider) Lookup(ctx context.Context, msg channels.Message) (channels.Result, bool, error) {
	params := (&openapi.ListMessageParams{}).SetTo(msg.To).SetFrom(p.api.From()).SetLimit(lookupLimit)
	since := msg.AttemptedAt.Add(-channels.ClockSkew)
	if msg.AttemptedAt.IsZero() {
		since = time.Now().Add(-LookbackWindow)
		params.SetDateSentAfter(since.UTC())
	}
	var found string
	err := p.api.Query(ctx, func(api *openapi.ApiService) error {
		list, err := api.ListMessage(params)
		if err != nil {
			return err
		}
		for _, m := range list {
			if m.Body == nil || *m.Body != msg.Text || m.Sid == nil || !createdSince(m.DateCreated, since) ||
				slices.Contains(msg.Claimed, *m.Sid) {
				continue
			}
			found = *m.Sid
			return nil
		}
		return nil
	})
	if err != nil {
		return channels.Result{}, false, fmt.Errorf("sms lookup: %w", err)
	}
	if found == "" {
		return channels.Result{}, false, nil
	}
	return channels.Result{ProviderRef: found, Status: domain.Sent}, true, nil
}

// createdSince reports whether a Twilio date (RFC 1123 with zone) is at or
// after since; a date that is missing or does not parse counts, so that a
// message Twilio has is never taken for one it lacks.
func createdSince(date *string, since time.Time) bool {
	if date == nil {
		return true
	}
	t, err := time.Parse(time.RFC1123Z, *date)
	return err != nil || !t.Before(since)
}
