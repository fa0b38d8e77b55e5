// Command forbear runs the repayment-reminder dispatcher.
//
//	forbear serve [--config FILE] [--http ADDR] [--data-dir DIR] [--nats-url URL]
//	forbear bench [flags]
//	forbear templates push|pull DIR [flags]
//	forbear version
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

	"github.com/forbear/forbear/internal/app"
	"github.com/forbear/forbear/internal/bench"
	"github.com/forbear/forbear/internal/config"
	"github.com/forbear/forbear/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

const usage = `forbear: multichannel repayment-reminder dispatcher

Usage:
  forbear serve [--config FILE] [--http ADDR] [--data-dir DIR] [--nats-url URL]
  forbear bench [--reminders N] [--cases N] [--out FILE]
  forbear templates push DIR [--url URL] [--token T] [--note N]
  forbear templates pull DIR [--url URL] [--token T]
  forbear version
`

// run is main without the process: testable with injected args, env and
// writers. It returns the exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "forbear", version)
		return 0
	case "serve":
		return serve(ctx, args[1:], environ, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "templates":
		return runTemplates(ctx, args[1:], environ, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "forbear: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func serve(ctx context.Context, args, environ []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config file (optional)")
	httpAddr := fs.String("http", "", "HTTP listen address (http.listen)")
	dataDir := fs.String("data-dir", "", "data directory for the embedded NATS store (data_dir)")
	natsURL := fs.String("nats-url", "", "external NATS URL; empty runs the embedded server (nats.url)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (log.level)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		fmt.Fprintln(stderr, "forbear:", err)
		return 2
	}
	// Flags beat env beat file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "http":
			cfg.HTTP.Listen = *httpAddr
		case "data-dir":
			cfg.DataDir = *dataDir
		case "nats-url":
			cfg.NATS.URL = *natsURL
		case "log-level":
			cfg.Log.Level = *logLevel
		}
	})
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "forbear: invalid configuration:\n"+err.Error())
		return 2
	}
	log, err := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(stderr, "forbear: log.level:", err)
		return 2
	}
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

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.Options{}
	fs.IntVar(&o.Reminders, "reminders", 100_000, "reminders for the raw ceiling and the end-to-end run")
	fs.IntVar(&o.Cases, "cases", 1_000_000, "open cases with nothing due, for the sweep measurement (0 skips it)")
	fs.StringVar(&o.Dir, "dir", "", "scratch directory (default a temporary one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the end-to-end run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "forbear bench:", err)
			return 1
		}
		defer f.Close()
		o.Profile = f
	}
	if err := bench.Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "forbear bench:", err)
		return 1
	}
	return 0
}
