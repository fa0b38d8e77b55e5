package voice

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
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
	// Calls and AnswerURL place calls that leave a voicemail: a message
	// with a Voicemail text is kept in Calls, and the call asks Twilio for
	// answering-machine detection and for its TwiML at AnswerURL (with
	// ?r=<reminder id>) once answered. Without both, every call says its
	// script inline.
	Calls     CallKeeper
	AnswerURL string
}

// CallKeeper keeps a call's texts until Twilio asks for them (Answers).
type CallKeeper interface {
	Put(ctx context.Context, reminderID string, c Call) error
}

// MachineDetection is the answering-machine detection a call with a
// voicemail asks for: Twilio waits for the end of a machine's greeting, so
// the voicemail is recorded from the beep on.
const MachineDetection = "DetectMessageEnd"

// Provider places calls through Twilio. It is safe for concurrent use.
type Provider struct {
	api       *twilioapi.Client
	callback  string
	calls     CallKeeper
	answerURL string
}

var (
	_ channels.Provider = (*Provider)(nil)
	_ channels.Looker   = (*Provider)(nil)
)

// lookupLimit bounds how many calls to one number a look-up reads per
// query. A handful are ever placed in a look-up's window.
const lookupLimit = 50

// New validates cfg (providers.voice) and returns a provider.
func New(cfg config.Provider, opts Options) (*Provider, error) {
	api, err := twilioapi.New(configKey, cfg, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	return &Provider{api: api, callback: opts.StatusCallback, calls: opts.Calls, answerURL: opts.AnswerURL}, nil
}

// Send places a call from the configured number to msg.To that says
// msg.Text in msg.Locale. A message with a Voicemail text (and a provider
// with Calls and AnswerURL) is placed with answering-machine detection:
// its texts are kept first, and the call gets its TwiML from AnswerURL
// once answered (see Answers.Answer). The request starts only if
// channels.BeginCall(ctx) allows it.
func (p *Provider) Send(ctx context.Context, msg channels.Message) (channels.Result, error) {
	if msg.To == "" || msg.Text == "" {
		return channels.Result{}, &channels.Error{Kind: channels.Permanent, Err: errors.New("voice: message has no recipient or no text")}
	}
	twiml := TwiML(msg.Locale, msg.Text)
	if err := checkLength("script", twiml); err != nil {
		return channels.Result{}, err
	}
	params := (&openapi.CreateCallParams{}).SetTo(msg.To).SetFrom(p.api.From())
	if msg.Voicemail != "" && p.calls != nil && p.answerURL != "" {
		if err := checkLength("voicemail", TwiML(msg.VoicemailLocale, msg.Voicemail)); err != nil {
			return channels.Result{}, err
		}
		call := Call{BorrowerID: msg.BorrowerID, Script: msg.Text, Locale: msg.Locale, Voicemail: msg.Voicemail, VoicemailLocale: msg.VoicemailLocale}
		if err := p.calls.Put(ctx, msg.ReminderID, call); err != nil {
			return channels.Result{}, &channels.Error{Kind: channels.Retry, Err: err}
		}
		params.SetUrl(p.answerURL + "?" + url.Values{"r": {msg.ReminderID}}.Encode()).SetMachineDetection(MachineDetection)
	} else {
		params.SetTwiml(twiml)
	}
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

// checkLength refuses TwiML longer than Twilio takes, before any request.
func checkLength(what, twiml string) error {
	if len(twiml) <= MaxTwiML {
		return nil
	}
	return &channels.Error{
		Kind: channels.Permanent,
		Code: "twiml_too_long",
		Err:  fmt.Errorf("voice: %s is %d bytes of TwiML, Twilio accepts %d", what, len(twiml), MaxTwiML),
	}
}

// Lookup reports whether Twilio has a call from the configured number to
// msg.To placed since msg.AttemptedAt (less channels.ClockSkew): the call of a
// worker that died after Twilio accepted it and before it recorded the
// result. Without an attempt time there is nothing to match, and the
// answer is "not found".
//
// Two queries, both through the Calls list: calls with StartTime> the
// attempt, and calls still queued (Twilio leaves a call's start time empty
// until it dials, for instance while the account's calls per second are
// spent), matched on their creation time.
//
// Any status counts, busy, failed and no-answer included: the worker that
// placed the call would not have dialled again after such an outcome
// either (the outcome arrives later, by status callback), and a busy
// signal is often the borrower declining the call. The match is by number
// and time, so another reminder's call to the same number in the same
// moment (two loans due together) is taken for this one: the borrower
// then gets one call where two were due, never two where one was.
func (p *Provider) Lookup(ctx context.Context, msg channels.Message) (channels.Result, bool, error) {
	if msg.AttemptedAt.IsZero() || msg.To == "" {
		return channels.Result{}, false, nil
	}
	since := msg.AttemptedAt.Add(-channels.ClockSkew).UTC()
	started := (&openapi.ListCallParams{}).SetTo(msg.To).SetFrom(p.api.From()).SetStartTimeAfter(since).SetLimit(lookupLimit)
	queued := (&openapi.ListCallParams{}).SetTo(msg.To).SetFrom(p.api.From()).SetStatus("queued").SetLimit(lookupLimit)
	var found string
	err := p.api.Query(ctx, func(api *openapi.ApiService) error {
		for _, q := range []struct {
			params *openapi.ListCallParams
			when   func(openapi.ApiV2010Call) *string
		}{
			{started, func(c openapi.ApiV2010Call) *string { return c.StartTime }},
			{queued, func(c openapi.ApiV2010Call) *string { return c.DateCreated }},
		} {
			calls, err := api.ListCall(q.params)
			if err != nil {
				return err
			}
			if found = earliestSince(calls, since, msg.Claimed, q.when); found != "" {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return channels.Result{}, false, fmt.Errorf("voice lookup: %w", err)
	}
	if found == "" {
		return channels.Result{}, false, nil
	}
	return channels.Result{ProviderRef: found, Status: domain.Sent}, true, nil
}

// earliestSince returns the SID of the earliest call whose time (when) is
// at or after since and that no other reminder has claimed: the one
// closest to the attempt. Twilio filters by
// time already; the check here also holds if it filtered by day only. A
// time Twilio wrote in a form we cannot read counts as a match: a call the
// query selected is more likely ours than not, and a missed match means a
// second call.
func earliestSince(calls []openapi.ApiV2010Call, since time.Time, claimed []string, when func(openapi.ApiV2010Call) *string) string {
	var sid string
	var first time.Time
	for _, c := range calls {
		if c.Sid == nil || *c.Sid == "" || slices.Contains(claimed, *c.Sid) {
			continue
		}
		at := since
		if w := when(c); w != nil {
			if t, err := time.Parse(time.RFC1123Z, *w); err == nil {
				at = t
			}
		}
		if at.Before(since) {
			continue
		}
		if sid == "" || at.Before(first) {
			sid, first = *c.Sid, at
		}
	}
	return sid
}

// TwiML returns the call script: text read aloud by <Say> in the language
// for locale (twilioapi.SayTwiML escapes both).
func TwiML(locale, text string) string {
	return twilioapi.SayTwiML(Language(locale), text)
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
