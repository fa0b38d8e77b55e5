package simulate

import (
	"github.com/forbear/forbear/internal/ground/domain"
)

// Comparison sets two runs of the same population side by side: B minus
// A, per day and channel and per rule.
type Comparison struct {
	A string `json:"a"`
	B string `json:"b"`
	// Totals are the differences of the whole run by status.
	Totals map[string]int `json:"totals"`
	// Segments is the difference in SMS segments sent.
	Segments int `json:"sms_segments"`
	// Rules are the whole run's counts per "status/rule" in both runs and
	// their difference, for every rule either run used.
	Rules map[string]RuleDiff `json:"rules"`
	// PerDay lists the days on which anything differs, with only the
	// channels that differ.
	PerDay []DayDiff `json:"per_day"`
}

// RuleDiff is one rule's count in both runs.
type RuleDiff struct {
	A    int `json:"a"`
	B    int `json:"b"`
	Diff int `json:"diff"`
}

// DayDiff is one day's differences.
type DayDiff struct {
	Date     string                            `json:"date"`
	Channels map[domain.Channel]map[string]int `json:"channels"`
}

// Compare compares two runs over the same days (B minus A).
func Compare(a, b *Result) Comparison {
	c := Comparison{A: a.Variant, B: b.Variant, Totals: map[string]int{}, Rules: map[string]RuleDiff{}, PerDay: []DayDiff{},
		Segments: b.Segments - a.Segments}
	for _, st := range Statuses {
		c.Totals[st] = b.Totals[st] - a.Totals[st]
	}
	for k, v := range a.Rules {
		r := c.Rules[k]
		r.A = v
		c.Rules[k] = r
	}
	for k, v := range b.Rules {
		r := c.Rules[k]
		r.B = v
		c.Rules[k] = r
	}
	for k, r := range c.Rules {
		r.Diff = r.B - r.A
		c.Rules[k] = r
	}
	for d := 0; d < len(a.PerDay) && d < len(b.PerDay); d++ {
		dd := DayDiff{Date: a.PerDay[d].Date, Channels: map[domain.Channel]map[string]int{}}
		for _, ch := range domain.Channels {
			x, y := a.PerDay[d].Channels[ch], b.PerDay[d].Channels[ch]
			diff := map[string]int{}
			for _, st := range Statuses {
				if n := y.Count(st) - x.Count(st); n != 0 {
					diff[st] = n
				}
			}
			if n := y.Segments - x.Segments; n != 0 {
				diff["sms_segments"] = n
			}
			for k := range union(x.Rules, y.Rules) {
				if n := y.Rules[k] - x.Rules[k]; n != 0 {
					diff[k] = n
				}
			}
			if len(diff) > 0 {
				dd.Channels[ch] = diff
			}
		}
		if len(dd.Channels) > 0 {
			c.PerDay = append(c.PerDay, dd)
		}
	}
	return c
}

func union(a, b map[string]int) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
