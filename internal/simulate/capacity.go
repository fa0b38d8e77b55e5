package simulate

import (
	"fmt"
	"math"

	"github.com/forbear/forbear/internal/domain"
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
	// SpillFrom is the first hour ("08:00") whose sends do not all go out
	// within it.
	SpillFrom string `json:"spill_from,omitempty"`
	// DrainedBy is when the queue is empty again ("11:00"; "24:00" and
	// beyond: on the next day).
	DrainedBy string `json:"drained_by,omitempty"`
	// Late is how many of the day's sends are still queued when the send
	// window closes: they would reach the provider after it.
	Late int `json:"late"`
	// Backlog is what is still queued at the end of the day.
	Backlog int `json:"backlog"`
}

// planCapacity fills every day's Capacity: one queue per channel across
// the whole run.
func planCapacity(res *Result, s Setup) {
	windowEnd := 24
	if !s.Rules.Window.Always() {
		windowEnd = int(math.Ceil(float64(s.Rules.Window.End) / 60))
	}
	for _, ch := range domain.Channels {
		rate := s.Rates[ch]
		perHour := int(math.Floor(rate * 3600))
		backlog := 0
		for d := range res.PerDay {
			cd := res.PerDay[d].Channels[ch]
			c := Capacity{PerHour: perHour, Fits: true}
			spilled := backlog > 0
			if spilled {
				c.SpillFrom = "00:00"
			}
			for h := range 24 {
				backlog += cd.SentByHour[h]
				if perHour > 0 {
					backlog -= min(backlog, perHour)
				} else {
					backlog = 0
				}
				if backlog > 0 && !spilled {
					spilled = true
					c.SpillFrom = fmt.Sprintf("%02d:00", h)
				}
				if backlog == 0 && spilled && c.DrainedBy == "" {
					c.DrainedBy = fmt.Sprintf("%02d:00", h+1)
				}
				if h+1 == windowEnd && backlog > 0 {
					c.Late, c.Fits = backlog, false
				}
			}
			c.Backlog = backlog
			if backlog > 0 {
				c.Fits = false
				if perHour > 0 && c.DrainedBy == "" {
					c.DrainedBy = fmt.Sprintf("%02d:00", 24+int(math.Ceil(float64(backlog)/float64(perHour))))
				}
			}
			cd.Capacity = c
		}
	}
}
