package voice

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/twilioapi"
)

// configKey is where the provider's settings live in the config file.
const configKey = "providers.voice"

// DefaultLanguage is the <Say> language when the borrower has no locale.
const DefaultLanguage = "en-US"

// MaxTwiML is the longest Twiml parameter Twilio accepts; a longer script
// is refused locally rather than by an API error.
const MaxTwiML = 4000

// Options are the provider's settings that do not come from the config file.
type Options struct {
	// HTTPClient supplies the shared transport and per-request timeout;
	// nil uses a private default.
	HTTPClient *http.Client
	// StatusCallback, when set, is the URL Twilio posts the call's outcome
	// to (the 7-day conversation rule depends on it).
	StatusCallback string
}

// Provider places calls through Twilio. It is safe for concurrent use.
type Provider struct {
	api      *twilioapi.Client
	callback string
}

var _ channels.Provider = (*Provider)(nil)

// New validates cfg (providers.voice) and returns a provider.
func New(cfg config.Provider, opts Options) (*Provider, error) {
	api, err := twilioapi.New(configKey, cfg, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	return &Provider{api: api, callback: opts.StatusCallback}, nil
}

// Send places a call from the configured number to msg.To that says
// msg.Text in msg.Locale. The request starts only if channels.BeginCall(ctx)
// allows it.
func (p *Provider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if msg.To == "" || msg.Text == "" {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Err: errors.New("voice: message has no recipient or no text")}
	}
	twiml := TwiML(msg.Locale, msg.Text)
	if len(twiml) > MaxTwiML {
		return channels.Result{}, &channels.Error{
			Kind: channels.Permanent,
			Code: "twiml_too_long",
			Err:  fmt.Errorf("voice: script is %d bytes of TwiML, Twilio accepts %d", len(twiml), MaxTwiML),
		}
	}
	params := (&openapi.CreateCallParams{}).SetTo(msg.To).SetFrom(p.api.From()).SetTwiml(twiml)
	// A per-message callback (which names the reminder) beats the
	// provider-wide one.
	if cb := cmp.Or(msg.StatusCallback, p.callback); cb != "" {
		params.SetStatusCallback(cb)
	}
	sid, err := p.api.Create(ctx, "call", func(api *openapi.ApiService) (*string, error) {
		c, err := api.CreateCall(params)
		if err != nil {
			return nil, err
		}
		return c.Sid, nil
	})
	if err != nil {
		return channels.Result{}, fmt.Errorf("voice send: %w", err)
	}
	return channels.Result{ProviderRef: sid, Status: domain.Sent}, nil
}

// TwiML returns the call script: text read aloud by <Say> in the language
// for locale. Both are XML-escaped, so template output can never inject
// TwiML verbs (a <Dial> in a borrower's name, say).
func TwiML(locale, text string) string {
	var b strings.Builder
	b.WriteString(`<Response><Say language="`)
	_ = xml.EscapeText(&b, []byte(Language(locale)))
	b.WriteString(`">`)
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString(`</Say></Response>`)
	return b.String()
}

// Language maps a borrower locale to a <Say> language: zh-CN and en-US as
// they are, empty to DefaultLanguage, anything else passed through.
func Language(locale string) string {
	switch strings.TrimSpace(locale) {
	case "":
		return DefaultLanguage
	case "zh-CN":
		return "zh-CN"
	case "en-US":
		return "en-US"
	default:
		return strings.TrimSpace(locale)
	}
}
