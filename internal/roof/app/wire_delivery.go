package app

import (
	"context"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/channels/sandbox"
	"github.com/forbear/forbear/channels/sms"
	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/callback"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/scheduler"
)

// buildScheduler builds the sweep that publishes due reminders.
func (a *App) buildScheduler() error {
	planner, err := scheduler.PlannerFor(a.cfg)
	if err != nil {
		return err
	}
	a.policies = planner.Policies
	pols, defPolicy := planner.Policies, planner.DefaultPolicy
	a.sched, err = scheduler.New(scheduler.Options{
		JS: a.js, State: a.state, Audit: a.audit, Policies: pols, DefaultPolicy: defPolicy, AgreementPolicy: a.cfg.Agreements.Policy,
		DefaultTimezone: a.zone, Spec: a.cfg.Scheduler.Sweep, CatchUp: a.cfg.Scheduler.CatchUp.D(), Clock: a.clock,
		Log: a.log.WithField("part", "scheduler"), Instance: a.instance,
		SweepBudget: a.cfg.Scheduler.SweepBudget.D(), Metrics: a.metrics,
		// The sweep may trust the watched view to let reminders through:
		// every send is fenced again at send time.
		Suppressions: func(borrowerID string) (domain.Suppressions, bool) { return a.fence.Cached(borrowerID), true },
	})
	return err
}

// buildWorkers builds one worker per channel, each with the provider its
// providers.<channel> config names.
func (a *App) buildWorkers(ctx context.Context, o Options) error {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	statusCallback := a.publicURL() + "/v1/providers/twilio/status"
	r := renderer{store: a.templates, clock: a.clock, defaultTZ: a.zone}
	for _, ch := range domain.Channels {
		pc := a.providerConfig(ch)
		var p channels.Provider
		var err error
		switch pc.Kind {
		case "", "sandbox":
			p = sandbox.New(a.js, ch)
		case "twilio":
			if ch == domain.SMS {
				p, err = sms.New(pc, sms.Options{HTTPClient: hc})
			} else {
				p, err = voice.New(pc, voice.Options{HTTPClient: hc, Calls: a.calls, AnswerURL: a.publicURL() + "/v1/providers/twilio/voice"})
			}
		case "smtp":
			p, err = email.New(pc, email.Options{})
		case "inbox":
			p = a.inbox
		}
		if err != nil {
			return err
		}
		// Only Twilio reports outcomes to a callback URL; other providers
		// would build it for nothing on every send.
		var callbackURL func(domain.Reminder) string
		if pc.Kind == "twilio" {
			callbackURL = func(r domain.Reminder) string { return statusCallback + "?" + callback.Query(r) }
		}
		w, err := dispatcher.NewWorker(ctx, dispatcher.WorkerOptions{
			Channel: ch, Provider: p, Concurrency: pc.Concurrency, JS: a.js, State: a.state, Fence: a.fence,
			Renderer: r, Audit: a.audit, Intake: a.intake, Metrics: a.metrics, Clock: a.clock,
			Log: a.log.WithFields(logrus.Fields{"part": "worker", "channel": string(ch)}), AckWait: a.cfg.Dispatcher.AckWait.D(),
			MaxDeliver: a.cfg.Dispatcher.MaxDeliver,
			UnsubscribeURL: func(borrowerID, address string) string {
				return httpapi.UnsubscribeURL(a.signer, a.publicURL(), borrowerID, address)
			},
			StatusCallback: callbackURL,
			Ledger:         a.ledger,
			MaxDefer:       a.cfg.Dispatcher.MaxDefer.D(),
		})
		if err != nil {
			return err
		}
		a.workers = append(a.workers, w)
		a.log.WithFields(logrus.Fields{"channel": string(ch), "provider": kindName(pc.Kind), "concurrency": pc.Concurrency}).Info("channel worker ready")
	}
	return nil
}

func kindName(k string) string {
	if k == "" {
		return "sandbox"
	}
	return k
}

func (a *App) providerConfig(ch domain.Channel) config.Provider {
	switch ch {
	case domain.SMS:
		return a.cfg.Providers.SMS
	case domain.Voice:
		return a.cfg.Providers.Voice
	case domain.Email:
		return a.cfg.Providers.Email
	default:
		return a.cfg.Providers.InApp
	}
}

// watchQueueDepth publishes each channel's backlog as a gauge.
func (a *App) watchQueueDepth(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		// A channel whose consumer could not be read keeps its last value.
		depth, _ := stats.QueueDepth(ctx, a.js)
		for ch, n := range depth {
			a.metrics.QueueDepth(string(ch), n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
