package scheduler_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
	"github.com/forbear/forbear/scheduler"
)

// TestCheckConfig: the scheduler section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{
			Name:    "bad timezone",
			Modify:  func(c *config.Config) { c.Scheduler.Timezone = "Mars/Olympus_Mons" },
			WantErr: []string{"scheduler.timezone", "Mars/Olympus_Mons"},
		},
		{
			Name:    "no sweep",
			Modify:  func(c *config.Config) { c.Scheduler.Sweep = "" },
			WantErr: []string{"scheduler.sweep"},
		},
		{
			Name:    "sweep budget unset",
			Modify:  func(c *config.Config) { c.Scheduler.SweepBudget = 0 },
			WantErr: []string{"scheduler.sweep_budget: must be at least 1s"},
		},
		{
			Name:    "sweep budget negative",
			Modify:  func(c *config.Config) { c.Scheduler.SweepBudget = config.Duration(-time.Minute) },
			WantErr: []string{"scheduler.sweep_budget"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return scheduler.CheckConfig(c.Scheduler) })
}
