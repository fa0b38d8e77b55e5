package simulate

import (
	"fmt"
	"math"

	"github.com/forbear/forbear/internal/ground/domain"
)

// Capacity is whether a channel's sends of one day fit its provider's
// rate (providers.<channel>.rate_per_second, per instance). The sends of
// each hour (in the run's zone) join a queue that the provider drains at
// its rate; what an hour cannot send spills into the next.
type Capacity struct {
	// PerHour is what the provider sends in an hour; 0 is no limit.
	PerHour int `json:"per_hour"`
	// Fits is true when every send of the day is out before the send
	// window closes (compliance.send_window's end, in the run's zone).
	Fits bool `json:"fits"`
	// Spills are the day's stretches of waiting, in order: a day whose
	// borrowers live in several zones can spill at each zone's morning.
	Spills []Spill `json:"spills,omitempty"`
	// Late is how many of the day's sends are still queued when the send
	// window closes: they would reach the provider after it.
	Late int `json:"late"`
	// Backlog is what is still queued at the end of the day.
	Backlog int `json:"backlog"`
}

// Spill is a stretch of hours when sends wait for the provider.
type Spill struct {
	// From is the first hour ("08:00") whose sends do not all go out
	// within it ("00:00" when the day starts with the last one's queue).
	From string `json:"from"`
	// Until is when the queue is empty again ("10:00"; "24:00" and beyond:
	// on the next day).
	Until string `json:"until"`
}

// planCapacity fills every day's Capacity: one queue per channel across
// the whole run.
func planCapacity(res *Result, s Setup) {
	windowEnd := 24
	if !s.Rules.Window.Always() {
		windowEnd = int(math.Ceil(float64(s.Rules.Window.End) / 60))
	}
	hour := func(h int) string { return fmt.Sprintf("%02d:00", h) }
	for _, ch := range domain.Channels {
		rate := s.Rates[ch]
		perHour := int(math.Floor(rate * 3600))
		backlog := 0
		for d := range res.PerDay {
			cd := res.PerDay[d].Channels[ch]
			c := Capacity{PerHour: perHour, Fits: true}
			var open *Spill
			if backlog > 0 {
				open = &Spill{From: hour(0)}
			}
			for h := range 24 {
				backlog += cd.SentByHour[h]
				if perHour > 0 {
					backlog -= min(backlog, perHour)
				} else {
					backlog = 0
				}
				switch {
				case backlog > 0 && open == nil:
					open = &Spill{From: hour(h)}
				case backlog == 0 && open != nil:
					open.Until = hour(h + 1)
					c.Spills = append(c.Spills, *open)
					open = nil
				}
				if h+1 == windowEnd && backlog > 0 {
					c.Late, c.Fits = backlog, false
				}
			}
			c.Backlog = backlog
			if open != nil {
				// Still queued at midnight: drained on the next day, at
				// this rate, unless that day adds to it.
				open.Until = hour(24 + int(math.Ceil(float64(backlog)/float64(perHour))))
				c.Spills = append(c.Spills, *open)
				c.Fits = false
			}
			cd.Capacity = c
		}
	}
}
