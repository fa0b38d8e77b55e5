package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
)

// Report is a dry run's answer: the run of the configuration, and when a
// variant was tried, its run and the comparison of the two.
type Report struct {
	Run        *Result     `json:"run"`
	Variant    *Result     `json:"variant,omitempty"`
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Simulate runs src with base and, when variant is not nil, with the
// variant too (same population, same span, same answered calls), and
// compares them.
func Simulate(ctx context.Context, base Setup, variant *Setup, src Source, o Options) (Report, error) {
	a, err := Run(ctx, base, src, o)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Run: a}
	if variant == nil {
		return rep, nil
	}
	b, err := Run(ctx, *variant, src, o)
	if err != nil {
		return Report{}, err
	}
	c := Compare(a, b)
	rep.Variant, rep.Comparison = b, &c
	return rep, nil
}

// Charts are a report's pictures by name: "status" (the run's reminders
// per day, stacked by status), "status-variant" and "compare" (with a
// variant), and "timeline" (the schedule of the kept borrower with the most
// decisions).
func (r Report) Charts() (map[string]*plot.Plot, error) {
	out := map[string]*plot.Plot{}
	p, err := StatusChart(r.Run)
	if err != nil {
		return nil, err
	}
	out["status"] = p
	if r.Variant != nil {
		if out["status-variant"], err = StatusChart(r.Variant); err != nil {
			return nil, err
		}
		if out["compare"], err = CompareChart(r.Run, r.Variant); err != nil {
			return nil, err
		}
	}
	if len(r.Run.Schedules) > 0 {
		busiest := r.Run.Schedules[0]
		for _, s := range r.Run.Schedules[1:] {
			if len(s.Entries) > len(busiest.Entries) {
				busiest = s
			}
		}
		if out["timeline"], err = TimelineChart(busiest, r.Run); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteDir writes the report into dir (made if missing): summary.json, and
// every chart as <name>.svg and <name>.png. It returns the files written.
func (r Report) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(name, append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	files = append(files, name)
	charts, err := r.Charts()
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	for _, chart := range []string{"status", "status-variant", "compare", "timeline"} {
		p, ok := charts[chart]
		if !ok {
			continue
		}
		for _, format := range []string{FormatSVG, FormatPNG} {
			img, err := Encode(p, format)
			if err != nil {
				return nil, fmt.Errorf("chart %s: %w", chart, err)
			}
			name := filepath.Join(dir, chart+"."+format)
			if err := os.WriteFile(name, img, 0o644); err != nil {
				return nil, err
			}
			files = append(files, name)
		}
	}
	return files, nil
}
