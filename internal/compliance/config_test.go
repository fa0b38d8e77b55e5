package compliance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
)

// TestCheckConfig: the compliance section's window and caps are checked
// here, each fault naming its key (the cases config's central check had).
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // substrings; nil means valid
	}{
		{name: "defaults", modify: func(*config.Config) {}},
		{name: "no send window, no caps", modify: func(c *config.Config) { c.Compliance = config.Compliance{} }},
		{
			// Was asserted by config's TestLoadFile after loading the window
			// from a file; the loading is still tested there.
			name:   "00:00-24:00 means no window",
			modify: func(c *config.Config) { c.Compliance.SendWindow = config.Window{Start: "00:00", End: "24:00"} },
		},
		{
			name:    "bad send window start",
			modify:  func(c *config.Config) { c.Compliance.SendWindow.Start = "8am" },
			wantErr: []string{"compliance.send_window.start", "8am"},
		},
		{
			name:    "bad send window end",
			modify:  func(c *config.Config) { c.Compliance.SendWindow.End = "25:00" },
			wantErr: []string{"compliance.send_window.end", "25:00"},
		},
		{
			name:    "half a send window",
			modify:  func(c *config.Config) { c.Compliance.SendWindow = config.Window{Start: "08:00"} },
			wantErr: []string{"compliance.send_window.end"},
		},
		{
			name: "cap on an unknown channel",
			modify: func(c *config.Config) {
				c.Compliance.Caps = map[string]config.Cap{"fax": {Max: 1, Per: config.Duration(day)}}
			},
			wantErr: []string{"compliance.caps.fax"},
		},
		{
			name:    "negative cap",
			modify:  func(c *config.Config) { c.Compliance.Caps = map[string]config.Cap{"sms": {Max: -1}} },
			wantErr: []string{"compliance.caps.sms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c)
			err := compliance.CheckConfig(c.Compliance)
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
