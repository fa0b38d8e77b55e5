package main

import (
	"bytes"
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// synopsisFlag is "[--name VALUE]" or "[--name]" in a usage line.
var synopsisFlag = regexp.MustCompile(`\[--([a-z][a-z0-9-]*)(?: ([A-Z][A-Z_]*))?\]`)

// parseUsage reads the "  forbear COMMAND [ARGS] [--flag VALUE]..." lines
// of a usage text: the flags (name to value placeholder) of each command.
func parseUsage(text string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "forbear ")
		if !ok || !strings.HasPrefix(line, "  ") {
			continue
		}
		var name []string
		for _, word := range strings.Fields(rest) {
			if strings.HasPrefix(word, "[") || strings.ToUpper(word) == word {
				break // flags, or a positional argument such as DIR
			}
			name = append(name, word)
		}
		flags := map[string]string{}
		for _, m := range synopsisFlag.FindAllStringSubmatch(rest, -1) {
			flags[m[1]] = m[2]
		}
		out[strings.Join(name, " ")] = flags
	}
	return out
}

// parseDefaults reads the flags (name to value placeholder) that
// flag.PrintDefaults lists: "  -name VALUE" lines.
func parseDefaults(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		fields := strings.Fields(line)
		out[strings.TrimPrefix(fields[0], "-")] = ""
		if len(fields) > 1 {
			out[strings.TrimPrefix(fields[0], "-")] = fields[1]
		}
	}
	return out
}

// TestUsageMatchesFlags: forbear --help lists every command, and for each
// exactly the flags (and value names) of the flag set the command parses,
// which `forbear COMMAND -h` prints. The usage used to list a `bench --out`
// that does not exist and to leave out `serve --log-level`, `bench --dir`,
// `bench --cpuprofile` and `templates --timeout`.
func TestUsageMatchesFlags(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr.String())
	}
	usage := parseUsage(stdout.String())
	wantCommands := []string{"bench", "help", "serve", "simulate", "templates pull", "templates push", "version"}
	if got := slices.Sorted(maps.Keys(usage)); !slices.Equal(got, wantCommands) {
		t.Errorf("--help lists commands %q, want %q:\n%s", got, wantCommands, stdout.String())
	}
	for command, listed := range usage {
		var out, errOut bytes.Buffer
		args := append(strings.Fields(command), "-h")
		code := run(context.Background(), args, nil, &out, &errOut)
		if code != 0 || errOut.Len() > 0 {
			t.Errorf("forbear %s -h: exit %d, stderr %q; want 0 and the usage on stdout", command, code, errOut.String())
		}
		if real := parseDefaults(out.String() + errOut.String()); !maps.Equal(listed, real) {
			t.Errorf("forbear %s: --help lists flags %v, the command's flag set has %v", command, listed, real)
		}
	}
}

// TestHelp: help, -h and --help print the usage to stdout and exit 0; a
// flag that does not exist, or an argument a command does not take, is
// refused before anything runs.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{arg}, nil, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d, want 0", arg, code)
		}
		if stdout.String() != usage() || stderr.Len() > 0 {
			t.Errorf("%s: stdout %q, stderr %q; want the usage on stdout only", arg, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--out", "x"}, nil, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "-out") || !strings.Contains(stderr.String(), "forbear bench") {
		t.Errorf("bench --out: exit %d, stderr %q; want 2, the flag named and bench's usage", code, stderr.String())
	}
	stderr.Reset()
	code = run(context.Background(), []string{"serve", "--log-level", "debug", "now"}, nil, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `takes no arguments, got ["now"]`) {
		t.Errorf("serve now: exit %d, stderr %q; want 2 and the argument named", code, stderr.String())
	}
}
