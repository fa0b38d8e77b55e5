package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/simulate"
)

// TestSimulateCommand: a population file, a variant with a preset and a
// narrower window, --out: the tables name both runs and their
// differences, and the directory has the summary and every chart.
func TestSimulateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pop := filepath.Join(dir, "population.csv")
	if err := os.WriteFile(pop, []byte(`borrower_id,name,locale,timezone,phone,email,loan_id,due_date,amount_due,currency,status
b1,Li Lei,zh-CN,Asia/Shanghai,+8613800000001,l@example.com,L1,2026-11-28,1200.00,CNY,overdue
b2,Ann Lee,en-US,America/New_York,+12125550100,,L2,2026-12-03,300.00,USD,current
`), 0o600); err != nil {
		t.Fatal(err)
	}
	variant := filepath.Join(dir, "variant.yaml")
	if err := os.WriteFile(variant, []byte("name: narrow\ncompliance:\n  preset: us-regf\n  send_window: {start: \"10:00\", end: \"18:00\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"simulate", "--population", pop, "--days", "14", "--start", "2026-12-01",
		"--variant", variant, "--borrowers", "b1", "--out", out}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	for _, want := range []string{"live: 2 borrowers, 14 days from 2026-12-01", "narrow: 2 borrowers", "narrow against live:", "deferred/send_window"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, name := range []string{"summary.json", "status.svg", "status.png", "status-variant.svg", "compare.svg", "compare.png", "timeline.svg", "timeline.png"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep simulate.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Run.Totals[simulate.StatusSent] == 0 || rep.Comparison == nil || len(rep.Run.Schedules) != 1 || rep.Run.Schedules[0].BorrowerID != "b1" {
		t.Errorf("summary: totals %v, comparison %v, schedules %d", rep.Run.Totals, rep.Comparison != nil, len(rep.Run.Schedules))
	}
	if svg, _ := os.ReadFile(filepath.Join(out, "status.svg")); !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("status.svg is not SVG")
	}
	if png, _ := os.ReadFile(filepath.Join(out, "status.png")); !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("status.png is not PNG")
	}
}

// TestSimulateRefusesBadInput: a population file with a bad date names
// its line and column; no population at all, an unknown variant key, or
// a configuration serve would refuse, is refused before anything runs.
func TestSimulateRefusesBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pop := filepath.Join(dir, "population.csv")
	if err := os.WriteFile(pop, []byte("borrower_id,loan_id,due_date,amount_due,currency,status\nb1,L1,2026-13-01,1.00,USD,overdue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	variant := filepath.Join(dir, "variant.yaml")
	if err := os.WriteFile(variant, []byte("complience: {preset: us-regf}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A configuration serve would refuse is no base for a dry run either.
	badConfig := filepath.Join(dir, "forbear.yaml")
	if err := os.WriteFile(badConfig, []byte("templates: {max_sms_segments: 0}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "--population", pop}, "line 2, column due_date"},
		{[]string{"simulate"}, "give --population FILE or --generate N"},
		{[]string{"simulate", "--generate", "5", "--variant", variant}, "complience"},
		{[]string{"simulate", "--generate", "5", "--days", "0"}, "days: must be 1 to"},
		{[]string{"simulate", "--generate", "5", "--config", badConfig}, "templates.max_sms_segments: must be at least 1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}
