package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels"
	"github.com/forbear/forbear/channels/email"
	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/channels/sandbox"
	"github.com/forbear/forbear/channels/sms"
	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/auth"
	"github.com/forbear/forbear/internal/clock"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/console"
	"github.com/forbear/forbear/internal/dirlock"
	"github.com/forbear/forbear/internal/domain"
	"github.com/forbear/forbear/internal/httpapi"
	"github.com/forbear/forbear/internal/metrics"
	"github.com/forbear/forbear/internal/natsrv"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/store"
	"github.com/forbear/forbear/internal/support"
	"github.com/forbear/forbear/internal/tz"
	"github.com/forbear/forbear/scheduler"
	"github.com/forbear/forbear/templates"
)

// Options are what a caller can inject; all are optional.
type Options struct {
	// Log is the logger; default logrus standard output.
	Log *logrus.Logger
	// Clock is "now" for scheduling and records; default the wall clock.
	Clock clock.Clock
	// HTTPClient reaches providers (Twilio); default a client with timeouts.
	HTTPClient *http.Client
	// Instance names this instance; default host name and a random suffix.
	Instance string
	// NATSURL overrides config nats.url (tests connect several instances to
	// one server this way).
	NATSURL string
	// NoScheduler leaves the cron sweep and the daily audit retention run
	// off (tests and the benchmark drive them through Scheduler() and
	// Retention()).
	NoScheduler bool
	// NoHTTP skips the HTTP listener; Handler() still serves.
	NoHTTP bool
	// FenceCheck, if set, receives how long each send waited for the fence.
	FenceCheck func(time.Duration)
	// Version is the build's version, shown in the instance list.
	Version string
	// StatsInterval is how often the instance folds its delivery counts
	// into the shared bucket; default stats.DefaultFoldInterval.
	StatsInterval time.Duration
}

// App is one forbear instance.
type App struct {
	cfg      config.Config
	log      *logrus.Entry
	instance string
	clock    clock.Clock
	zone     *time.Location // scheduler.timezone: borrowers without a zone

	embedded *natsrv.Server
	dataLock *dirlock.Lock // held while the embedded server uses data_dir
	nc       *nats.Conn
	js       jetstream.JetStream
	fenceNC  *nats.Conn // the fence's own connection (see connect)

	metrics   *metrics.Metrics
	state     *store.State
	audit     *audit.Recorder
	activity  *retention.Index  // each borrower's last record, for retention
	purger    *retention.Purger // removes the records of borrowers idle past audit.retention
	fence     *dispatcher.Fence
	intake    *dispatcher.Intake
	templates *templates.Store
	sched     *scheduler.Scheduler
	policies  scheduler.Policies
	inbox     *inapp.Inbox
	calls     *voice.Answers // what calls with a voicemail say once answered
	ledger    *dispatcher.Ledger
	signer    *signing.Signer
	support   *support.Service
	counter   *stats.Counter
	heartbeat *stats.Heartbeat
	stats     *stats.Reader
	workers   []*dispatcher.Worker
	api       *httpapi.Server
	http      *http.Server
	listener  net.Listener
	noSched   bool

	cancel     context.CancelFunc // ends fence, watchers and workers
	stopIntake func()
}

// New builds an instance; nothing runs until Start.
func New(ctx context.Context, cfg config.Config, o Options) (_ *App, err error) {
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Instance == "" {
		o.Instance = defaultInstance()
	}
	if o.NATSURL != "" {
		cfg.NATS.URL = o.NATSURL
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	zone, err := tz.Load(cfg.Scheduler.Timezone)
	if err != nil {
		return nil, fmt.Errorf("scheduler.timezone: %w", err)
	}
	a := &App{cfg: cfg, instance: o.Instance, clock: o.Clock, noSched: o.NoScheduler, metrics: metrics.New(),
		log: o.Log.WithField("instance", o.Instance), zone: zone}
	defer func() {
		if err != nil {
			a.closeNATS()
			if a.listener != nil {
				a.listener.Close()
			}
		}
	}()
	if !o.NoHTTP {
		// Listen first: the public URL (callbacks, unsubscribe links)
		// defaults to the address actually bound.
		if a.listener, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			return nil, fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
		}
	}
	if err := a.connect(); err != nil {
		return nil, err
	}
	replicas := cfg.NATS.Replicas
	if replicas == 0 {
		replicas = 1
	}
	if err := store.Setup(ctx, a.js, store.Options{Replicas: replicas}); err != nil {
		return nil, err
	}
	if a.state, err = store.OpenState(ctx, a.js); err != nil {
		return nil, err
	}
	if a.counter, err = stats.NewCounter(ctx, a.js, stats.CounterOptions{Instance: a.instance, Interval: o.StatsInterval,
		Log: a.log.WithField("part", "stats")}); err != nil {
		return nil, err
	}
	if a.stats, err = stats.NewReader(ctx, a.js, o.Clock); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if a.heartbeat, err = stats.NewHeartbeat(ctx, a.js, stats.Instance{Name: a.instance, Host: host, Version: o.Version, HTTP: a.Addr()},
		a.log.WithField("part", "stats")); err != nil {
		return nil, err
	}
	// Every record this instance writes is counted for the dashboard, and
	// moves its borrower's last activity for retention (also with
	// audit.retention 0, so that setting an age later finds the index).
	if a.activity, err = retention.OpenIndex(ctx, a.js); err != nil {
		return nil, err
	}
	a.audit = audit.New(a.js, a.instance, audit.WithObserver(a.counter.Add), audit.WithActivity(a.activity.Touch))
	if a.purger, err = retention.NewPurger(ctx, retention.Options{JS: a.js, Index: a.activity, Age: cfg.Audit.Retention.D(),
		Clock: o.Clock, Log: a.log.WithField("part", "retention")}); err != nil {
		return nil, err
	}
	fenceJS, err := jetstream.New(a.fenceNC)
	if err != nil {
		return nil, err
	}
	fenceState, err := store.OpenState(ctx, fenceJS)
	if err != nil {
		return nil, err
	}
	a.fence = dispatcher.NewFence(fenceState, dispatcher.FenceOptions{
		Instance: a.instance, Lease: cfg.Dispatcher.FenceLease.D(), Observe: a.metrics.Fence, ObserveCheck: o.FenceCheck,
		Log: a.log.WithField("part", "fence"),
	})
	if a.templates, err = templates.Open(ctx, a.js, a.log.WithField("part", "templates"), templates.WithClock(o.Clock), templates.WithOptOutPhrases(cfg.Templates.OptOutPhrases...), templates.WithMaxSMSSegments(cfg.Templates.MaxSMSSegments), templates.WithUses(templateUses(cfg.Policies))); err != nil {
		return nil, err
	}
	if n, err := a.templates.Seed(ctx, cfg.TemplatesDir, "forbear"); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	} else if n > 0 {
		a.log.WithField("templates", n).Info("template store seeded")
	}
	if err := a.buildScheduler(); err != nil {
		return nil, err
	}
	eventIDs, err := a.js.KeyValue(ctx, store.EventIDsBucket)
	if err != nil {
		return nil, err
	}
	a.intake = dispatcher.NewIntake(dispatcher.IntakeOptions{
		State: a.state, EventIDs: eventIDs, Reindex: a.sched, Fence: a.fence, Clock: o.Clock,
		Log: a.log.WithField("part", "intake"), AgreementPolicy: cfg.Agreements.Policy, Observe: a.metrics.Event,
		History: a.audit,
	})
	if a.inbox, err = inapp.New(a.js, inapp.WithClock(o.Clock)); err != nil {
		return nil, err
	}
	secrets, err := a.js.KeyValue(ctx, store.SecretsBucket)
	if err != nil {
		return nil, err
	}
	if a.signer, err = signing.Load(ctx, secrets); err != nil {
		return nil, err
	}
	rules, err := compliance.Compile(cfg.Compliance, a.zone)
	if err != nil {
		return nil, err
	}
	for _, note := range rules.Deprecated {
		a.log.Warn(note)
	}
	if a.ledger, err = dispatcher.NewLedger(ctx, a.js, rules, o.Clock); err != nil {
		return nil, err
	}
	if a.calls, err = voice.OpenAnswers(ctx, a.js); err != nil {
		return nil, err
	}
	if err := a.buildWorkers(ctx, o); err != nil {
		return nil, err
	}
	a.support = support.New(support.Options{
		State: a.state, Ledger: a.ledger, Policies: a.policies, AgreementPolicy: cfg.Agreements.Policy,
		DefaultZone: a.zone, PhoneRegion: cfg.Console.PhoneRegion, Clock: o.Clock, Records: a.audit, Log: a.log.WithField("part", "support"),
	})
	outcomes := &dispatcher.Outcomes{Intake: a.intake, Ledger: a.ledger, Audit: a.audit, State: a.state, Metrics: a.metrics,
		Keywords: rules.OptOutKeywords, Confirmation: optOutConfirmation(cfg.Compliance.OptOutConfirmation), Calls: a.calls}
	// Dry runs use the configuration and the live templates; samples read
	// the live state and write nothing.
	dryRun := &simulate.Service{Config: cfg, Templates: a.templates, Clock: o.Clock,
		Live: liveSample{state: a.state, reader: store.NewReader(a.js)}}
	// One authenticator for the API and the console: a role means the same
	// in both.
	authn := auth.New(cfg.Auth.Tokens, a.signer.BorrowerFromToken)
	con, err := console.New(console.Options{Auth: authn, Signer: a.signer, DefaultZone: a.zone,
		Log: a.log.WithField("part", "console"),
		Ops: console.OpsDeps{Templates: a.templates, Uses: templateUses(cfg.Policies), Records: a.state,
			Policies: cfg.Policies, Compliance: cfg.Compliance, Rules: rules, DryRun: dryRun},
		Dashboard: console.DashboardDeps{Stats: a.stats},
		Support:   console.SupportDeps{Borrowers: a.support, Intake: a.intake, Deliveries: a.audit, Inbox: a.inbox, Clock: o.Clock},
	})
	if err != nil {
		return nil, err
	}
	a.api = httpapi.New(httpapi.Options{
		Auth: authn, Console: con,
		Tokens: cfg.Auth.Tokens, Intake: a.intake, State: a.state, Audit: a.audit, Fence: a.fence,
		Inbox: inboxAPI{a.inbox},
		Outbox: func(ctx context.Context, ch, borrowerID string, limit int) (any, error) {
			return sandbox.List(ctx, a.js, ch, borrowerID, limit)
		},
		Support:      a.support,
		Stats:        a.stats,
		Signer:       a.signer,
		InboxStreams: cfg.HTTP.InboxStreams,
		DefaultZone:  a.zone,
		Templates:    a.templates,
		Simulator:    dryRun,
		Twilio: httpapi.TwilioCallbacks{Outcomes: outcomes, PublicURL: a.publicURL(),
			AuthTokens: nonEmpty(cfg.Providers.SMS.Twilio.AuthToken, cfg.Providers.Voice.Twilio.AuthToken)},
		Ready:        a.ready,
		Metrics:      a.metrics.Handler(),
		WriteTimeout: cfg.HTTP.WriteTimeout.D(),
		Log:          a.log.WithField("part", "http"),
	})
	return a, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", store.Token(host), hex.EncodeToString(b[:]))
}

func (a *App) connect() error {
	var err error
	if a.cfg.NATS.URL == "" {
		if err := a.lockDataDir(); err != nil {
			return err
		}
		dir := filepath.Join(a.cfg.DataDir, "nats")
		a.embedded, err = natsrv.Start(natsrv.Options{StoreDir: dir, Listen: a.cfg.NATS.Embedded.Listen, ServerName: "forbear",
			Log: a.log.WithField("part", "nats")})
		if err != nil {
			return err
		}
		where := a.embedded.ClientURL()
		if where == "" {
			where = "in-process only"
		}
		a.log.WithFields(logrus.Fields{"store_dir": dir, "client_url": where}).Info("embedded NATS with JetStream started")
	}
	if a.nc, err = a.dial("forbear " + a.instance); err != nil {
		return err
	}
	if a.embedded == nil {
		a.log.WithField("url", a.nc.ConnectedUrlRedacted()).Info("connected to external NATS")
	}
	// The fence asks the suppression stream's leader a question before
	// sends, and its watcher receives every suppression. On the shared
	// connection both would queue behind the workers' traffic (the server
	// reads one connection's messages in order, and so does the client):
	// a send would wait tens of milliseconds for a question that takes one.
	if a.fenceNC, err = a.dial("forbear " + a.instance + " fence"); err != nil {
		return err
	}
	a.js, err = jetstream.New(a.nc)
	return err
}

// dial opens a connection to the embedded server or to nats.url.
func (a *App) dial(name string) (*nats.Conn, error) {
	if a.embedded != nil {
		nc, err := a.embedded.Connect(name)
		if err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		return nc, nil
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1)}
	if a.cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(a.cfg.NATS.Creds))
	}
	nc, err := nats.Connect(a.cfg.NATS.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats.url %s: %w", a.cfg.NATS.URL, err)
	}
	return nc, nil
}

// lockDataDir keeps data_dir to this instance: two embedded servers on one
// store each acknowledge writes the other then loses. The lock is held
// until Stop or Kill (or the process's end, crash included).
func (a *App) lockDataDir() error {
	host, _ := os.Hostname()
	lock, err := dirlock.Acquire(a.cfg.DataDir, dirlock.Holder{PID: os.Getpid(), Host: host, Instance: a.instance, Since: time.Now()})
	if errors.Is(err, dirlock.ErrLocked) {
		return fmt.Errorf("data_dir %w; stop that instance or give this one another data_dir", err)
	}
	if err != nil {
		return fmt.Errorf("data_dir %s: %w", a.cfg.DataDir, err)
	}
	a.dataLock = lock
	return nil
}

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
		var callback func(domain.Reminder) string
		if pc.Kind == "twilio" {
			callback = func(r domain.Reminder) string { return statusCallback + "?" + dispatcher.CallbackQuery(r) }
		}
		w, err := dispatcher.NewWorker(ctx, dispatcher.WorkerOptions{
			Channel: ch, Provider: p, Concurrency: pc.Concurrency, JS: a.js, State: a.state, Fence: a.fence,
			Renderer: r, Audit: a.audit, Intake: a.intake, Metrics: a.metrics, Clock: a.clock,
			Log: a.log.WithFields(logrus.Fields{"part": "worker", "channel": string(ch)}), AckWait: a.cfg.Dispatcher.AckWait.D(),
			MaxDeliver: a.cfg.Dispatcher.MaxDeliver,
			UnsubscribeURL: func(borrowerID, address string) string {
				return httpapi.UnsubscribeURL(a.signer, a.publicURL(), borrowerID, address)
			},
			StatusCallback: callback,
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

func (a *App) publicURL() string {
	if a.cfg.HTTP.PublicURL != "" {
		return strings.TrimSuffix(a.cfg.HTTP.PublicURL, "/")
	}
	if a.listener != nil {
		return "http://" + a.listener.Addr().String()
	}
	return "http://" + a.cfg.HTTP.Listen
}

// Start runs everything: fence, intake consumer, workers, scheduler and the
// HTTP listener.
func (a *App) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.fence.Start(runCtx); err != nil {
		return err
	}
	stop, err := a.intake.ConsumeEvents(runCtx, a.js)
	if err != nil {
		return err
	}
	a.stopIntake = stop
	for _, w := range a.workers {
		if err := w.Start(runCtx); err != nil {
			return err
		}
	}
	if !a.noSched {
		if err := a.sched.Start(runCtx); err != nil {
			return err
		}
		a.purger.Start(runCtx)
	}
	a.counter.Start(runCtx)
	go a.watchQueueDepth(runCtx)
	if a.listener != nil {
		h := a.cfg.HTTP
		a.http = httpapi.NewHTTPServer(a.api, httpapi.Limits{
			ReadHeaderTimeout: h.ReadHeaderTimeout.D(), ReadTimeout: h.ReadTimeout.D(), WriteTimeout: h.WriteTimeout.D(),
			IdleTimeout: h.IdleTimeout.D(), MaxHeaderBytes: h.MaxHeaderBytes,
		})
		maxConns := h.MaxConnections
		if maxConns == 0 {
			maxConns = httpapi.DefaultMaxConnections()
		}
		ln := httpapi.LimitListener(a.listener, maxConns)
		go func() {
			if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.WithError(err).Error("http server stopped")
			}
		}()
		// The warning comes first: whoever waits for "listening" has seen it.
		if len(a.cfg.Auth.Tokens) == 0 {
			a.log.Warn("no auth tokens configured: the API is open to anyone who can reach " + a.listener.Addr().String() + " (loopback only)")
		}
		a.log.WithFields(logrus.Fields{"listen": a.listener.Addr().String(), "max_connections": maxConns}).Info("HTTP API listening")
	}
	// Listed as up once everything runs.
	return a.heartbeat.Start(runCtx)
}

// Stop stops taking work, hands back or finishes in-flight reminders,
// flushes and closes NATS. It returns within ctx's deadline.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	// Off the instance list first: it is going away.
	if a.heartbeat != nil {
		errs = append(errs, tidy(ctx, a.heartbeat.Stop))
	}
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
	}
	if a.sched != nil && !a.noSched {
		errs = append(errs, a.sched.Stop(ctx))
	}
	if a.purger != nil {
		errs = append(errs, a.purger.Stop(ctx))
	}
	if a.stopIntake != nil {
		a.stopIntake()
	}
	for _, w := range a.workers {
		errs = append(errs, w.Stop(ctx))
	}
	// The last records are written: fold their counts, store their
	// borrowers' last activity.
	if a.counter != nil {
		errs = append(errs, tidy(ctx, a.counter.Stop))
	}
	if a.activity != nil {
		errs = append(errs, tidy(ctx, a.activity.Flush))
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.templates != nil {
		a.templates.Close()
	}
	if a.nc != nil {
		errs = append(errs, a.nc.FlushWithContext(ctx))
	}
	a.closeNATS()
	return errors.Join(errs...)
}

// tidyTimeout bounds a step of Stop that only tidies up (the heartbeat, the
// last delivery counts): a NATS whose streams have no leader must not take
// the whole shutdown budget from handing back reminders.
const tidyTimeout = 2 * time.Second

func tidy(ctx context.Context, step func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, tidyTimeout)
	defer cancel()
	return step(ctx)
}

// Kill stops the instance abruptly, as a crash would: no naks, no flush.
// In-flight reminders are redelivered to other instances after AckWait.
func (a *App) Kill() {
	// The connection goes first so that nothing (no nak, no record) leaves
	// after the "crash".
	if a.nc != nil {
		a.nc.Close()
	}
	if a.fenceNC != nil {
		a.fenceNC.Close()
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.http != nil {
		_ = a.http.Close()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
	}
	a.dataLock.Release()
}

func (a *App) closeNATS() {
	if a.nc != nil {
		a.nc.Close()
	}
	if a.fenceNC != nil {
		a.fenceNC.Close()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
	}
	// Only once the server has let go of the store.
	a.dataLock.Release()
}

// Handler is the HTTP API.
func (a *App) Handler() http.Handler { return a.api }

// Addr is the HTTP listener's address ("" without a listener).
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Scheduler exposes the scheduler (tests and the benchmark run sweeps).
func (a *App) Scheduler() *scheduler.Scheduler { return a.sched }

// JetStream exposes the JetStream context.
func (a *App) JetStream() jetstream.JetStream { return a.js }

// Templates exposes the template store.
func (a *App) Templates() *templates.Store { return a.templates }

// Audit exposes the delivery records.
func (a *App) Audit() *audit.Recorder { return a.audit }

// Retention exposes the audit retention runs (tests run them on a moved
// clock).
func (a *App) Retention() *retention.Purger { return a.purger }

// Support answers support staff's questions: search and the borrower
// page.
func (a *App) Support() *support.Service { return a.support }

// Stats computes the dashboard's numbers.
func (a *App) Stats() *stats.Reader { return a.stats }

// Metrics exposes the metrics.
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// NATSClientURL is the embedded server's client URL ("" when external or
// in-process only).
func (a *App) NATSClientURL() string {
	if a.embedded == nil {
		return ""
	}
	return a.embedded.ClientURL()
}

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

// NATSConn is the instance's NATS connection.
func (a *App) NATSConn() *nats.Conn { return a.nc }
