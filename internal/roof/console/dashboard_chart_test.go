package console

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/stats"
)

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct {
		highest        int64
		top, step      int64
		wantTopAtLeast int64
	}{
		{0, 1, 1, 1},
		{1, 1, 1, 1},
		{4, 4, 1, 4},
		{5, 6, 2, 5},
		{9, 10, 5, 9},
		{11, 15, 5, 11},
		{37, 40, 10, 37},
		{1234, 1500, 500, 1234},
	} {
		top, step := niceScale(tc.highest)
		if top != tc.top || step != tc.step {
			t.Errorf("niceScale(%d) = %d, %d; want %d, %d", tc.highest, top, step, tc.top, tc.step)
		}
		if top < tc.wantTopAtLeast || top/step > maxYSteps || top%step != 0 {
			t.Errorf("niceScale(%d) = %d, %d: the axis must reach it in at most %d whole steps", tc.highest, top, step, maxYSteps)
		}
	}
}

// hoursTo is the stats.Hours hours up to the one now is in, as
// stats.Reader gives them, with one SMS sent in each.
func hoursTo(now time.Time) []stats.Hour {
	first := now.UTC().Truncate(time.Hour).Add(-(stats.Hours - 1) * time.Hour)
	out := make([]stats.Hour, stats.Hours)
	for i := range out {
		out[i] = stats.Hour{Start: first.Add(time.Duration(i) * time.Hour), Counts: stats.Counts{"sms": {"sent": 1}}}
	}
	return out
}

// TestDayBucketsAreTheViewersDays: the 168 hours are summed into calendar
// days of the viewer's zone, the first and last partial, every hour in
// exactly one day, including zones whose offset is not whole hours.
func TestDayBucketsAreTheViewersDays(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone  string
		dates []string
		hours []int64 // per day
	}{
		{"UTC", []string{"2026-11-16", "2026-11-17", "2026-11-22", "2026-11-23"}, []int64{13, 24, 24, 11}},
		{"Asia/Shanghai", []string{"2026-11-16", "2026-11-17", "2026-11-22", "2026-11-23"}, []int64{5, 24, 24, 19}},
		{"Asia/Kolkata", []string{"2026-11-16", "2026-11-17", "2026-11-22", "2026-11-23"}, []int64{8, 24, 24, 16}},
		{"America/Los_Angeles", []string{"2026-11-16", "2026-11-17", "2026-11-22", "2026-11-23"}, []int64{21, 24, 24, 3}},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		days := dayBuckets(hoursTo(now), loc)
		if len(days) != 8 {
			t.Fatalf("%s: %d days, want 8", tc.zone, len(days))
		}
		got := map[string]int64{}
		var sum int64
		var covered time.Duration
		for i, d := range days {
			got[d.Key] = d.Counts["sms"]["sent"]
			sum += d.Counts["sms"]["sent"]
			covered += d.To.Sub(d.From)
			if i > 0 && !d.From.Equal(days[i-1].To) {
				t.Errorf("%s: day %s starts at %s, the day before ends at %s", tc.zone, d.Key, d.From, days[i-1].To)
			}
			if d.Counts["sms"]["sent"] != int64(d.To.Sub(d.From)/time.Hour) {
				t.Errorf("%s: day %s counts %d over %s", tc.zone, d.Key, d.Counts["sms"]["sent"], d.To.Sub(d.From))
			}
		}
		for i, date := range tc.dates {
			if got[date] != tc.hours[i] {
				t.Errorf("%s: %s has %d hours, want %d", tc.zone, date, got[date], tc.hours[i])
			}
		}
		if sum != stats.Hours || covered != stats.Hours*time.Hour {
			t.Errorf("%s: days sum %d over %s, want the %d hours", tc.zone, sum, covered, stats.Hours)
		}
	}
}

// TestChartStacksBarsToScale: a bar's segments stack from the axis in the
// order of the statuses, each as tall as its count on the y scale; the
// newest bar is labelled; an empty chart says so.
func TestChartStacksBarsToScale(t *testing.T) {
	rq := &request{Lang: English, Zone: time.UTC}
	now := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	hours := hoursTo(now)[stats.Hours-24:]
	for i := range hours {
		hours[i].Counts = stats.Counts{}
	}
	hours[23].Counts = stats.Counts{"sms": {"capped": 1, "sent": 3}}
	c := newChart("24h", "sms", hourBuckets(hours, time.UTC), rq)
	if len(c.Bars) != 24 || len(c.Rows) != 24 || c.Empty != "" {
		t.Fatalf("%d bars, %d rows, empty %q; want 24 bars and rows", len(c.Bars), len(c.Rows), c.Empty)
	}
	bar := c.Bars[23]
	if bar.Total != 4 || len(bar.Segments) != 2 || bar.Segments[0].Status != "sent" || bar.Segments[1].Status != "capped" {
		t.Fatalf("newest bar = %+v, want 3 sent under 1 capped", bar)
	}
	sent, capped := bar.Segments[0], bar.Segments[1]
	plot := float64(plotBottom - plotTop) // the axis tops at 4: the bar fills it
	if sent.Y+sent.H != plotBottom || capped.Y+capped.H != sent.Y || capped.Y != plotTop {
		t.Errorf("segments do not stack from the axis to the top: %+v", bar.Segments)
	}
	if sent.H != round1(plot*3/4) || capped.H != round1(plot/4) {
		t.Errorf("segment heights %.1f, %.1f; want %.1f, %.1f", sent.H, capped.H, plot*3/4, plot/4)
	}
	if !strings.Contains(bar.Title, "Sent 3") || !strings.Contains(bar.Title, "Capped 1") {
		t.Errorf("bar title %q, want its counts", bar.Title)
	}
	last := c.XTicks[len(c.XTicks)-1]
	if last.Label != "10:00" || last.At != round1(plotRight-(plotRight-plotLeft)/48.0) {
		t.Errorf("last x label %+v, want 10:00 under the newest bar", last)
	}
	if top := c.YTicks[len(c.YTicks)-1]; top.Label != "4" || top.At != plotTop {
		t.Errorf("top y tick %+v, want 4 at the top", top)
	}
	if empty := newChart("24h", "voice", hourBuckets(hours, time.UTC), rq); empty.Empty == "" || len(empty.Bars[23].Segments) != 0 {
		t.Errorf("a chart without counts: empty %q, newest bar %+v", empty.Empty, empty.Bars[23])
	}
}
