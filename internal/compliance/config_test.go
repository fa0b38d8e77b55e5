package compliance_test

import (
	"testing"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/config/configtest"
)

// TestCheckConfig: the compliance section's window and caps are checked
// here, each fault naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []configtest.Case{
		{Name: "defaults", Modify: func(*config.Config) {}},
		{Name: "no send window, no caps", Modify: func(c *config.Config) { c.Compliance = config.Compliance{} }},
		{
			// Was asserted by config's TestLoadFile after loading the window
			// from a file; the loading is still tested there.
			Name:   "00:00-24:00 means no window",
			Modify: func(c *config.Config) { c.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"} },
		},
		{
			Name:    "bad send window start",
			Modify:  func(c *config.Config) { c.Compliance.SendWindow.Start = "8am" },
			WantErr: []string{"compliance.send_window.start", "8am"},
		},
		{
			Name:    "bad send window end",
			Modify:  func(c *config.Config) { c.Compliance.SendWindow.End = "25:00" },
			WantErr: []string{"compliance.send_window.end", "25:00"},
		},
		{
			Name:    "half a send window",
			Modify:  func(c *config.Config) { c.Compliance.SendWindow = config.Window{Start: "08:00"} },
			WantErr: []string{"compliance.send_window.end"},
		},
		{
			Name: "cap on an unknown channel",
			Modify: func(c *config.Config) {
				c.Compliance.Caps = map[string]config.Cap{"fax": {Max: 1, Per: config.Duration(day)}}
			},
			WantErr: []string{"compliance.caps.fax"},
		},
		{
			Name:    "negative cap",
			Modify:  func(c *config.Config) { c.Compliance.Caps = map[string]config.Cap{"sms": {Max: -1}} },
			WantErr: []string{"compliance.caps.sms"},
		},
	}
	configtest.Run(t, tests, func(c *config.Config) error { return compliance.CheckConfig(c.Compliance) })
}
