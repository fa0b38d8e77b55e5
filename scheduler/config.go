package scheduler

import (
	"time"

	"github.com/forbear/forbear/internal/ground/config"
)

// CheckConfig checks the scheduler section; each fault names its key. It
// lives here because the sweep, its budget and the default zone are this
// package's Options, so the rules for a sound value stay next to their
// use. internal/roof/app.CheckConfig runs it with every other section's.
func CheckConfig(c config.Scheduler) error {
	var f config.Faults
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			f.Add("scheduler.timezone", "%q is not an IANA time zone", c.Timezone)
		}
	}
	if c.Sweep == "" {
		f.Add("scheduler.sweep", "is required (a robfig/cron spec such as \"@every 1m\")")
	}
	if c.SweepBudget.D() < time.Second {
		f.Add("scheduler.sweep_budget", "must be at least 1s, got %s", c.SweepBudget.D())
	}
	return f.Err()
}
