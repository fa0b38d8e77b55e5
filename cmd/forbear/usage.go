package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one of forbear's commands as the usage text shows it. Its
// flags come from the same define function that builds the flag set the
// command parses, so the usage cannot list a flag that does not exist
// (TestUsageMatchesFlags holds the two together).
type command struct {
	name    string // "serve", "templates push"
	args    string // positional arguments: "DIR"
	summary string
	details string // printed by `forbear COMMAND -h` after the summary
	// flags defines the command's flags on fs; nil for none.
	flags func(fs *flag.FlagSet)
}

// commands are forbear's commands, in the order --help lists them.
var commands = []command{
	{name: "serve", summary: "Run forbear: the API, the sweep and the channel workers.",
		details: "Settings come from the config file, then FORBEAR_* environment variables, then these flags.",
		flags:   func(fs *flag.FlagSet) { new(serveFlags).define(fs) }},
	{name: "bench", summary: "Measure this machine: JetStream's ceiling, forbear end to end, event-to-provider latency, a sweep of many cases.",
		details: "Also the writes and reads stored per reminder and the peak RSS of each part. README, \"Measuring: forbear bench\", says what each figure counts.",
		flags:   func(fs *flag.FlagSet) { new(benchFlags).define(fs) }},
	{name: "simulate", summary: "Dry run: what the policies, contact rules and templates will do to a population.",
		details: simulateDetails, flags: func(fs *flag.FlagSet) { new(simulateFlags).define(fs) }},
	{name: "templates push", args: "DIR", summary: "Publish every DIR/<id>.yaml whose content differs from the live version.",
		details: templatesDetails, flags: func(fs *flag.FlagSet) { new(templatesFlags).define(fs, true) }},
	{name: "templates pull", args: "DIR", summary: "Write the live version of every template to DIR/<id>.yaml.",
		details: templatesDetails, flags: func(fs *flag.FlagSet) { new(templatesFlags).define(fs, false) }},
	{name: "version", summary: "Print the version."},
	{name: "help", summary: "Print this text."},
}

// commandNamed returns the command called name; it panics for a name that
// is not in commands, which is a mistake in this file.
func commandNamed(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("forbear: no command " + name)
}

// usage is the text of forbear --help.
func usage() string {
	var b strings.Builder
	b.WriteString("forbear: multichannel repayment-reminder dispatcher\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n      %s\n", synopsis(c, c.listedFlags()), c.summary)
	}
	b.WriteString("\nRun \"forbear COMMAND -h\" for what each flag means (\"forbear templates push -h\").\n")
	return b.String()
}

// flagSet returns an empty flag set for c, for the command to define its
// flags on and parse with parseFlags; errors go to output.
func (c command) flagSet(output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {} // parseFlags prints the usage
	return fs
}

// listedFlags is a flag set with c's flags, for the usage text.
func (c command) listedFlags() *flag.FlagSet {
	fs := c.flagSet(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

// synopsis is "forbear NAME ARGS [--flag VALUE]..." for the flags of fs.
func synopsis(c command, fs *flag.FlagSet) string {
	parts := []string{"forbear", c.name}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if value, _ := flag.UnquoteUsage(f); value != "" {
			parts = append(parts, "[--"+f.Name+" "+value+"]")
		} else {
			parts = append(parts, "[--"+f.Name+"]")
		}
	})
	return strings.Join(parts, " ")
}

// printCommandUsage prints what `forbear COMMAND -h` shows: the synopsis,
// what the command does and each flag of fs.
func printCommandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", synopsis(c, fs), c.summary)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s\n", c.details)
	}
	if c.flags != nil {
		fmt.Fprint(w, "\nFlags:\n")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// parseFlags parses a command's arguments with fs (made by c.flagSet) and
// returns the positional ones, which may come before, between or after the
// flags. -h prints the command's usage to stdout; a bad flag is reported
// with the usage on stderr. done is set when the command must not run,
// with its exit code.
//
// A command without positional arguments (no args in its usage) refuses
// any, so each command need not check.
func parseFlags(c command, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (positional []string, code int, done bool) {
	positional, code, done = parseArgs(c, fs, args, stdout, stderr)
	if !done && c.args == "" && len(positional) > 0 {
		fmt.Fprintf(stderr, "forbear %s: takes no arguments, got %q\n", c.name, positional)
		return nil, 2, true
	}
	return positional, code, done
}

func parseArgs(c command, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (positional []string, code int, done bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(stdout, c, fs)
			return nil, 0, true
		}
		if err != nil {
			// fs has printed the error itself.
			fmt.Fprintln(stderr)
			printCommandUsage(stderr, c, fs)
			return nil, 2, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, false
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), 0, false // all after "--" is positional
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
