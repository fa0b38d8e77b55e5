package sms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
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

// Lookup reports whether a message with msg.Text went from the configured
// sender to msg.To within LookbackWindow, and its SID if so.
func (p *Provider) Lookup(ctx context.Context, msg channels.Message) (channels.Result, bool, error) {
	params := (&openapi.ListMessageParams{}).
		SetTo(msg.To).
		SetFrom(p.api.From()).
		SetDateSentAfter(time.Now().Add(-LookbackWindow).UTC()).
		SetLimit(lookupLimit)
	var found string
	err := p.api.Query(ctx, func(api *openapi.ApiService) error {
		list, err := api.ListMessage(params)
		if err != nil {
			return err
		}
		for _, m := range list {
			if m.Body != nil && *m.Body == msg.Text && m.Sid != nil {
				found = *m.Sid
				return nil
			}
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
