package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/scheduler"
)

// TestCheckConfig: the scheduler section is checked here, each fault
// naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{
			name:    "bad timezone",
			modify:  func(c *config.Config) { c.Scheduler.Timezone = "Mars/Olympus_Mons" },
			wantErr: []string{"scheduler.timezone", "Mars/Olympus_Mons"},
		},
		{
			name:    "no sweep",
			modify:  func(c *config.Config) { c.Scheduler.Sweep = "" },
			wantErr: []string{"scheduler.sweep"},
		},
		{
			name:    "sweep budget unset",
			modify:  func(c *config.Config) { c.Scheduler.SweepBudget = 0 },
			wantErr: []string{"scheduler.sweep_budget: must be at least 1s"},
		},
		{
			name:    "sweep budget negative",
			modify:  func(c *config.Config) { c.Scheduler.SweepBudget = config.Duration(-time.Minute) },
			wantErr: []string{"scheduler.sweep_budget"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := scheduler.CheckConfig(c.Scheduler)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckConfig() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckConfig() = nil, want an error naming %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckConfig() = %q, want it to name %q", err, s)
				}
			}
		})
	}
}
