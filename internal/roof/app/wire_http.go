package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/forbear/forbear/channels/sandbox"
	"github.com/forbear/forbear/dispatcher/callback"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/roof/console"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/simulate"
)

// publicURL is how Twilio and borrowers reach this instance: http.public_url,
// else the address the listener bound.
func (a *App) publicURL() string {
	if a.cfg.HTTP.PublicURL != "" {
		return strings.TrimSuffix(a.cfg.HTTP.PublicURL, "/")
	}
	if a.listener != nil {
		return "http://" + a.listener.Addr().String()
	}
	return "http://" + a.cfg.HTTP.Listen
}

// ready is what GET /ready checks: NATS connected, the reminder stream and
// the suppression bucket answering, the sweep within its budget.
func (a *App) ready(ctx context.Context) error {
	if a.nc == nil || !a.nc.IsConnected() {
		return errors.New("NATS not connected")
	}
	if _, err := a.js.Stream(ctx, store.RemindersStream); err != nil {
		return fmt.Errorf("stream %s: %w", store.RemindersStream, err)
	}
	if _, err := a.state.SuppressionKV.Status(ctx); err != nil {
		return fmt.Errorf("bucket %s: %w", store.SuppressionsBucket, err)
	}
	// A sweep past its budget: reminders due meanwhile are not sent.
	return a.sched.Degraded()
}

// optOutConfirmation is the reply to an inbound opt-out: the configured
// texts, or built-in ones when the key is not set (an empty map sends
// none).
func optOutConfirmation(cfg map[string]string) map[string]string {
	if cfg != nil {
		return cfg
	}
	return map[string]string{
		"en-US": "You will receive no more SMS reminders from us. Your account and other channels are not affected.",
		"zh-CN": "您已退订短信提醒，我们将不再向您发送短信。您的账户及其他渠道不受影响。",
	}
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// buildHTTP builds the HTTP API and the web console it serves, with the
// provider callbacks and the dry run behind them.
func (a *App) buildHTTP(rules compliance.Rules) error {
	outcomes := &callback.Outcomes{Intake: a.intake, Ledger: a.ledger, Audit: a.audit, State: a.state, Metrics: a.metrics, Clock: a.clock,
		Keywords: rules.OptOutKeywords, Confirmation: optOutConfirmation(a.cfg.Compliance.OptOutConfirmation), Calls: a.calls}
	// Dry runs use the configuration and the live templates; samples read
	// the live state and write nothing.
	dryRun := &simulate.Service{Config: a.cfg, Templates: a.templates, Clock: a.clock,
		Live: liveSample{state: a.state, reader: store.NewReader(a.js)}}
	// One authenticator for the API and the console: a role means the same
	// in both.
	authn := auth.New(a.cfg.Auth.Tokens, a.signer.BorrowerFromToken)
	con, err := console.New(console.Options{Auth: authn, Signer: a.signer, DefaultZone: a.zone,
		Log: a.log.WithField("part", "console"),
		Ops: console.OpsDeps{Templates: a.templates, Uses: templateUses(a.cfg.Policies), Records: a.state,
			Policies: a.cfg.Policies, Compliance: a.cfg.Compliance, Rules: rules, DryRun: dryRun},
		Dashboard: console.DashboardDeps{Stats: a.stats},
		Support:   console.SupportDeps{Borrowers: a.support, Intake: a.intake, Deliveries: a.audit, Inbox: a.inbox, Clock: a.clock},
	})
	if err != nil {
		return err
	}
	a.api = httpapi.New(httpapi.Options{
		Auth: authn, Console: con,
		Tokens: a.cfg.Auth.Tokens, Intake: a.intake, State: a.state, Audit: a.audit, Fence: a.fence,
		Inbox: inboxAPI{a.inbox},
		Outbox: func(ctx context.Context, ch, borrowerID string, limit int) (any, error) {
			return sandbox.List(ctx, a.js, ch, borrowerID, limit)
		},
		Support:      a.support,
		Stats:        a.stats,
		Signer:       a.signer,
		InboxStreams: a.cfg.HTTP.InboxStreams,
		DefaultZone:  a.zone,
		Templates:    a.templates,
		Simulator:    dryRun,
		Twilio: httpapi.TwilioCallbacks{Outcomes: outcomes, PublicURL: a.publicURL(),
			AuthTokens: nonEmpty(a.cfg.Providers.SMS.Twilio.AuthToken, a.cfg.Providers.Voice.Twilio.AuthToken)},
		Ready:        a.ready,
		Metrics:      a.metrics.Handler(),
		WriteTimeout: a.cfg.HTTP.WriteTimeout.D(),
		Log:          a.log.WithField("part", "http"),
	})
	return nil
}
