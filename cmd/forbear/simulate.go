package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/internal/roof/app"
	"github.com/forbear/forbear/internal/simulate"
	"github.com/forbear/forbear/templates"
)

// simulateDetails is what `forbear simulate -h` says besides the synopsis
// and the flags.
const simulateDetails = `Runs the configuration's policies, contact rules and templates on a virtual
clock over --days for a population, with no NATS, no provider and nothing
stored, and prints per day and channel what would be sent, deferred,
capped, suppressed and withheld. The population is a CSV or JSON file
(--population) or made up (--generate N borrowers, --seed). --variant FILE
tries a change (other policies, contact rules or template drafts) on the
same population and compares the two. --out DIR writes summary.json and the
charts (SVG and PNG).`

// simulateFlags are the flags of forbear simulate.
type simulateFlags struct {
	config, population, variant, out, start, borrowers string
	generate                                           int
	seed                                               uint64
	days                                               int
	answered                                           float64
}

func (f *simulateFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "read settings from the YAML `FILE` (optional; as forbear serve)")
	fs.StringVar(&f.population, "population", "", "simulate the borrowers of the CSV or JSON `FILE`")
	fs.IntVar(&f.generate, "generate", 0, "simulate `N` generated borrowers instead of a file")
	fs.Uint64Var(&f.seed, "seed", 1, "`SEED` of the generated borrowers")
	fs.IntVar(&f.days, "days", 30, "simulate `N` days")
	fs.StringVar(&f.start, "start", "", "first day, a `DATE` YYYY-MM-DD (default today in scheduler.timezone)")
	fs.StringVar(&f.variant, "variant", "", "compare with the variant in the YAML `FILE` (policies, compliance, agreements, templates)")
	fs.StringVar(&f.borrowers, "borrowers", "", "keep the schedules of these borrower `IDS`, comma-separated (default the first 5)")
	fs.Float64Var(&f.answered, "answered", 0, "`SHARE` of calls that connect, 0 to 1")
	fs.StringVar(&f.out, "out", "", "write summary.json and the charts into `DIR`")
}

func runSimulate(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	c := commandNamed("simulate")
	fs := c.flagSet(stderr)
	var f simulateFlags
	f.define(fs)
	if _, code, done := parseFlags(c, fs, args, stdout, stderr); done {
		return code
	}
	rep, err := f.simulate(ctx, environ)
	if err != nil {
		fmt.Fprintln(stderr, "forbear simulate:", err)
		return 2
	}
	printReport(stdout, rep)
	if f.out != "" {
		files, err := rep.WriteDir(f.out)
		if err != nil {
			fmt.Fprintln(stderr, "forbear simulate: --out:", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nWrote %s\n", strings.Join(files, ", "))
	}
	return 0
}

// simulate builds the setups and the population the flags name and runs
// them.
func (f *simulateFlags) simulate(ctx context.Context, environ []string) (simulate.Report, error) {
	cfg, err := app.LoadConfig(f.config, environ)
	if err != nil {
		return simulate.Report{}, err
	}
	defs, _, err := templates.Initial(cfg.TemplatesDir)
	if err != nil {
		return simulate.Report{}, err
	}
	opts := []templates.Option{templates.WithMaxSMSSegments(cfg.Templates.MaxSMSSegments)}
	if cfg.Templates.OptOutPhrases != nil {
		opts = append(opts, templates.WithOptOutPhrases(cfg.Templates.OptOutPhrases...))
	}
	live, err := templates.NewSet(defs, opts...)
	if err != nil {
		return simulate.Report{}, err
	}
	base, err := simulate.NewSetup("live", cfg, live)
	if err != nil {
		return simulate.Report{}, err
	}
	var variant *simulate.Setup
	if f.variant != "" {
		v, err := readVariant(f.variant)
		if err != nil {
			return simulate.Report{}, err
		}
		s, err := v.Apply(cfg, live)
		if err != nil {
			return simulate.Report{}, fmt.Errorf("--variant %s: %w", f.variant, err)
		}
		variant = &s
	}
	start := time.Now().In(base.Zone)
	if f.start != "" {
		if start, err = time.ParseInLocation(time.DateOnly, f.start, base.Zone); err != nil {
			return simulate.Report{}, fmt.Errorf("--start: must be YYYY-MM-DD, got %q", f.start)
		}
	}
	var src simulate.Source
	switch {
	case f.population != "" && f.generate > 0:
		return simulate.Report{}, errors.New("give --population or --generate, not both")
	case f.population != "":
		data, err := os.ReadFile(f.population)
		if err != nil {
			return simulate.Report{}, err
		}
		p, err := simulate.ParsePopulation(data)
		if err != nil {
			return simulate.Report{}, fmt.Errorf("%s: %w", f.population, err)
		}
		src = p
	case f.generate > 0 && f.generate <= simulate.MaxBorrowers:
		src = simulate.Generated{N: f.generate, Seed: f.seed, Start: start}
	case f.generate > 0:
		return simulate.Report{}, fmt.Errorf("--generate: at most %d borrowers", simulate.MaxBorrowers)
	default:
		return simulate.Report{}, errors.New("give --population FILE or --generate N")
	}
	o := simulate.Options{Start: start, Days: f.days, CallAnswered: f.answered}
	if f.borrowers != "" {
		o.Keep = strings.Split(f.borrowers, ",")
	}
	return simulate.Simulate(ctx, base, variant, src, o)
}

// readVariant reads a variant file, refusing keys it does not know.
func readVariant(path string) (simulate.Variant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return simulate.Variant{}, err
	}
	var v simulate.Variant
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return simulate.Variant{}, fmt.Errorf("--variant %s: %w", path, err)
	}
	return v, nil
}

// printReport prints a run's totals and days as tables, and the
// comparison when there is one.
func printReport(w io.Writer, rep simulate.Report) {
	printRun(w, rep.Run)
	if rep.Variant == nil {
		return
	}
	fmt.Fprintln(w)
	printRun(w, rep.Variant)
	c := rep.Comparison
	fmt.Fprintf(w, "\n%s against %s:", c.B, c.A)
	for _, st := range simulate.Statuses {
		fmt.Fprintf(w, " %s %+d", st, c.Totals[st])
	}
	fmt.Fprintf(w, ", SMS segments %+d\n", c.Segments)
	for _, k := range sortedKeys(c.Rules) {
		if r := c.Rules[k]; r.Diff != 0 {
			fmt.Fprintf(w, "  %-28s %8d %8d %+8d\n", k, r.A, r.B, r.Diff)
		}
	}
}

func printRun(w io.Writer, r *simulate.Result) {
	fmt.Fprintf(w, "%s: %d borrowers, %d days from %s (%s), in %s\n", r.Variant, r.Borrowers, r.Days,
		r.Start.Format(time.DateOnly), r.Zone, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%-10s %-6s %8s %8s %8s %10s %8s %8s %9s  %s\n", "day", "chan", "sent", "deferred", "capped", "suppressed", "failed", "withheld", "segments", "capacity")
	for _, d := range r.PerDay {
		for _, ch := range domain.Channels {
			c := d.Channels[ch]
			if c.Sent+c.Deferred+c.Capped+c.Suppressed+c.Failed+c.Withheld == 0 {
				continue
			}
			capacity := "fits"
			if !c.Capacity.Fits {
				capacity = fmt.Sprintf("%d late, %d queued at midnight", c.Capacity.Late, c.Capacity.Backlog)
			}
			for i, sp := range c.Capacity.Spills {
				sep := ", spills "
				if i > 0 {
					sep = " "
				}
				capacity += sep + sp.From + "-" + sp.Until
			}
			fmt.Fprintf(w, "%-10s %-6s %8d %8d %8d %10d %8d %8d %9d  %s\n", d.Date, ch, c.Sent, c.Deferred, c.Capped, c.Suppressed, c.Failed, c.Withheld, c.Segments, capacity)
		}
	}
	fmt.Fprintf(w, "total:")
	for _, st := range simulate.Statuses {
		fmt.Fprintf(w, " %s %d", st, r.Totals[st])
	}
	fmt.Fprintf(w, ", SMS segments %d\n", r.Segments)
	for _, k := range sortedKeys(r.Rules) {
		fmt.Fprintf(w, "  %-28s %8d\n", k, r.Rules[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
