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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sirupsen/logrus"

	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/channels/voice"
	"github.com/forbear/forbear/dispatcher"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/dispatcher/suppress"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/dirlock"
	"github.com/forbear/forbear/internal/ground/metrics"
	"github.com/forbear/forbear/internal/ground/natsrv"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/ground/tz"
	"github.com/forbear/forbear/internal/retention"
	"github.com/forbear/forbear/internal/roof/httpapi"
	"github.com/forbear/forbear/internal/signing"
	"github.com/forbear/forbear/internal/stats"
	"github.com/forbear/forbear/internal/support"
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
	// FenceRound, if set, receives how long each fence round took (its
	// question to the suppression stream's leader, and the wait for the
	// watcher), beside the metric every round feeds.
	FenceRound func(time.Duration)
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
	fence     *suppress.Fence
	intake    *intake.Intake
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
	if err := CheckConfig(&cfg); err != nil {
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
	a.fence = suppress.NewFence(fenceState, suppress.FenceOptions{
		Instance: a.instance, Lease: cfg.Dispatcher.FenceLease.D(), Observe: fenceRounds(a.metrics.Fence, o.FenceRound), ObserveCheck: o.FenceCheck,
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
	intakeLog := a.log.WithField("part", "intake")
	suppressions := suppress.NewWriter(suppress.WriterOptions{State: a.state, Clock: o.Clock, Log: intakeLog, History: a.audit})
	a.intake = intake.New(intake.Options{
		State: a.state, EventIDs: eventIDs, Reindex: a.sched, Fence: a.fence, Suppressions: suppressions, Clock: o.Clock,
		Log: intakeLog, AgreementPolicy: cfg.Agreements.Policy, Observe: a.metrics.Event,
	})
	if a.inbox, err = inapp.New(a.js, inapp.WithClock(o.Clock)); err != nil {
		return nil, err
	}
	secrets, err := store.OpenBucket(ctx, a.js, store.SecretsBucket) // leader-backed: a miss on a lagging replica must not make a second secret
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
	if err := a.buildHTTP(rules); err != nil {
		return nil, err
	}
	return a, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", store.Token(host), hex.EncodeToString(b[:]))
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

// NATSConn is the instance's NATS connection.
func (a *App) NATSConn() *nats.Conn { return a.nc }

// fenceRounds is where a fence round's duration goes: the metric, and
// extra when set.
func fenceRounds(metric, extra func(time.Duration)) func(time.Duration) {
	if extra == nil {
		return metric
	}
	return func(d time.Duration) { metric(d); extra(d) }
}
