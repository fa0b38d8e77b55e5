// Command forbear runs the repayment-reminder dispatcher.
//
//	forbear serve [flags]
//	forbear bench [flags]
//	forbear simulate [flags]
//	forbear templates push|pull DIR [flags]
//	forbear version
//
// `forbear --help` lists every command with its flags (usage.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/roof/bench"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process: testable with injected args, env and
// writers. It returns the exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "forbear", version)
		return 0
	case "serve":
		return serve(ctx, args[1:], environ, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "simulate":
		return runSimulate(ctx, args[1:], environ, stdout, stderr)
	case "templates":
		return runTemplates(ctx, args[1:], environ, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage())
		return 0
	default:
		fmt.Fprintf(stderr, "forbear: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
}

// serveFlags are the flags of forbear serve.
type serveFlags struct {
	config, http, dataDir, natsURL, logLevel string
}

func (f *serveFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "read settings from the YAML `FILE` (optional)")
	fs.StringVar(&f.http, "http", "", "listen for HTTP on `ADDR` (http.listen)")
	fs.StringVar(&f.dataDir, "data-dir", "", "keep the embedded NATS store in `DIR` (data_dir)")
	fs.StringVar(&f.natsURL, "nats-url", "", "connect to the NATS at `URL` instead of running the embedded server (nats.url)")
	fs.StringVar(&f.logLevel, "log-level", "", "log at `LEVEL`: debug, info, warn or error (log.level)")
}

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	c := commandNamed("serve")
	fs := c.flagSet(stderr)
	var f serveFlags
	f.define(fs)
	if _, code, done := parseFlags(c, fs, args, stdout, stderr); done {
		return code
	}
	// Unchecked until the flags are in: a flag may set right what the file
	// or the environment got wrong.
	cfg, err := config.LoadUnchecked(f.config, environ)
	if err != nil {
		fmt.Fprintln(stderr, "forbear:", err)
		return 2
	}
	// Flags beat env beat file.
	fs.Visit(func(set *flag.Flag) {
		switch set.Name {
		case "http":
			cfg.HTTP.Listen = f.http
		case "data-dir":
			cfg.DataDir = f.dataDir
		case "nats-url":
			cfg.NATS.URL = f.natsURL
		case "log-level":
			cfg.Log.Level = f.logLevel
		}
	})
	if err := app.CheckConfig(&cfg); err != nil {
		fmt.Fprintln(stderr, "forbear: invalid configuration:\n"+err.Error())
		return 2
	}
	log, err := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(stderr, "forbear: log.level:", err)
		return 2
	}
	app.SetMemoryLimit(cfg.MemoryLimitMiB)
	a, err := app.New(ctx, cfg, app.Options{Log: log, Version: version})
	if err != nil {
		log.WithError(err).Error("forbear could not start")
		return 1
	}
	if err := a.Start(ctx); err != nil {
		log.WithError(err).Error("forbear could not start")
		_ = a.Stop(context.Background())
		return 1
	}
	log.WithField("version", version).Info("forbear is running; SIGINT or SIGTERM stops it")
	<-ctx.Done()
	log.Info("stopping: handing back in-flight reminders")
	stopCtx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	if err := a.Stop(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		log.WithError(err).Warn("stopped with errors")
	}
	log.Info("stopped")
	return 0
}

// benchFlags are the flags of forbear bench.
type benchFlags struct {
	o          bench.Options
	cpuProfile string
}

func (f *benchFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.o.Reminders, "reminders", 100_000, "`N` reminders for the raw ceiling and the end-to-end run")
	fs.IntVar(&f.o.Concurrency, "concurrency", bench.DefaultConcurrency, "`N` sends in flight in the end-to-end run's SMS worker; the default is serve's")
	fs.IntVar(&f.o.Cases, "cases", 1_000_000, "`N` open cases with nothing due, loaded before the end-to-end run; the sweep with nothing due is measured on them (0: an empty instance)")
	fs.DurationVar(&f.o.Settle, "settle", bench.DefaultSettle, "the instance idles `DURATION` after loading the open cases, before the end-to-end run (0: not at all)")
	fs.IntVar(&f.o.Events, "events", 200, "`N` events sent one at a time to an idle instance, for the event-to-provider latency (0 skips it)")
	fs.StringVar(&f.o.Sweep, "sweep", config.Default().Scheduler.Sweep, "the sweep's cron `SPEC` while the latency is measured; the default is serve's")
	fs.BoolVar(&f.o.JSON, "json", false, "print the figures as one JSON document at the end, for comparing runs")
	fs.StringVar(&f.o.Dir, "dir", "", "scratch `DIR` (default a temporary one)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the end-to-end run to `FILE`")
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := commandNamed("bench")
	fs := c.flagSet(stderr)
	var f benchFlags
	f.define(fs)
	if _, code, done := parseFlags(c, fs, args, stdout, stderr); done {
		return code
	}
	o := f.o
	if f.cpuProfile != "" {
		file, err := os.Create(f.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "forbear bench:", err)
			return 1
		}
		defer file.Close()
		o.Profile = file
	}
	// As serve runs: the peak RSS it prints is what serve's default
	// configuration gives.
	app.SetMemoryLimit(config.Default().MemoryLimitMiB)
	if _, err := bench.Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "forbear bench:", err)
		return 1
	}
	return 0
}
